import { describe, expect, it } from "vitest";
import { nextRewriteAt } from "../../src/storage/redis/redis-erasure-rewrite.js";

describe("Redis rewrite after erasure", () => {
  it("runs at once when none ran in the last interval, else one interval after the last", () => {
    expect(nextRewriteAt(undefined, 1_000, 300_000)).toBe(1_000);
    expect(nextRewriteAt(0, 400_000, 300_000)).toBe(400_000);
    expect(nextRewriteAt(100_000, 150_000, 300_000)).toBe(400_000);
  });
});
