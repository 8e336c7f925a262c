import { describe, expect, it } from "vitest";
import { planCompaction } from "../../src/domain/compaction.js";

const messages = (tokens: number[]) => tokens.map((tokenCount, i) => ({ sequence: i + 1, tokenCount }));

describe("planCompaction", () => {
  const policy = { tokenLimit: 100, keepRecent: 3 };

  it("does nothing while the session fits its limit", () => {
    expect(planCompaction(messages([30, 30, 40]), 100, policy)).toBeUndefined();
  });

  it("folds everything but the most recent messages once over the limit", () => {
    expect(planCompaction(messages([10, 10, 10, 10, 10, 10]), 120, policy)).toEqual({
      throughSequence: 3,
      foldCount: 3,
    });
  });

  it("keeps a verbatim tail of at most half the limit", () => {
    // The newest two (30 + 30) would exceed 50 tokens, so only the newest stays.
    expect(planCompaction(messages([10, 10, 30, 30]), 130, { tokenLimit: 100, keepRecent: 3 })).toEqual({
      throughSequence: 3,
      foldCount: 3,
    });
  });

  it("always keeps the newest message, even when it alone is over the limit", () => {
    expect(planCompaction(messages([10, 500]), 510, policy)).toEqual({ throughSequence: 1, foldCount: 1 });
  });

  it("cannot compact a single message", () => {
    expect(planCompaction(messages([500]), 500, policy)).toBeUndefined();
  });

  it("counts the existing summary through the session's token total", () => {
    // Messages alone (40 tokens) fit, but summary + messages (150) do not.
    expect(planCompaction(messages([10, 10, 10, 10]), 150, policy)).toEqual({ throughSequence: 1, foldCount: 1 });
  });
});
