import { describe, expect, it } from "vitest";
import { termsWorthMatching } from "../../src/storage/embedded/bm25-term-selection.js";

describe("the terms worth a full-text match (bm25() floors the IDF of a term in half the rows or more)", () => {
  it("leaves out a term found in at least half the rows", () => {
    // 10 rows: "user" in 9, "jazz" in 2, "lisbon" in none.
    expect(termsWorthMatching(["user", "jazz", "lisbon"], [9, 2, 0], 10)).toEqual(["jazz", "lisbon"]);
  });

  it("draws the line where the IDF stops being positive: log((N − n + 0.5) / (n + 0.5)) ≤ 0 iff 2n ≥ N", () => {
    expect(termsWorthMatching(["half", "under"], [5, 4], 10)).toEqual(["under"]);
    expect(termsWorthMatching(["half", "under"], [4, 3], 9)).toEqual(["half", "under"]);
  });

  it("keeps the query whole when every term is that common", () => {
    expect(termsWorthMatching(["user", "note"], [10, 6], 10)).toEqual(["user", "note"]);
    expect(termsWorthMatching(["anything"], [0], 0)).toEqual(["anything"]);
  });
});
