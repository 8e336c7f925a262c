import { describe, expect, it } from "vitest";
import { hasLoneSession, sessionFor } from "../../src/models/onnx-session-choice.js";

describe("which of the model thread's sessions runs a batch", () => {
  it("sends a lone text to the lone-query session when it has more threads than the batch session", () => {
    const threads = { threads: 1, loneThreads: 2 };
    expect(hasLoneSession(threads)).toBe(true);
    expect(sessionFor(1, threads)).toBe("lone");
  });

  it("sends every batch of several texts to the batch session", () => {
    const threads = { threads: 1, loneThreads: 2 };
    for (const texts of [2, 16, 32]) expect(sessionFor(texts, threads)).toBe("batch");
  });

  it("keeps one session for all when a lone text would get no more threads than a batch", () => {
    for (const threads of [
      { threads: 1, loneThreads: 1 },
      { threads: 2, loneThreads: 2 },
      { threads: 4, loneThreads: 2 },
    ]) {
      expect(hasLoneSession(threads)).toBe(false);
      expect(sessionFor(1, threads)).toBe("batch");
      expect(sessionFor(8, threads)).toBe("batch");
    }
  });
});
