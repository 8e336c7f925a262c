import { describe, expect, it } from "vitest";
import { fuseRelativeScores } from "../../src/domain/hybrid-fusion.js";

describe("fuseRelativeScores", () => {
  const vector = [
    { id: "a", score: 0.9 },
    { id: "b", score: 0.5 },
    { id: "c", score: 0.1 },
  ];
  const lexical = [
    { id: "c", score: 12 },
    { id: "d", score: 3 },
  ];

  it("min-max normalises each list, weights by alpha and sums", () => {
    const fused = new Map(fuseRelativeScores(vector, lexical, 0.25).map((s) => [s.id, s.score]));
    expect(fused.get("a")).toBeCloseTo(0.25);
    expect(fused.get("b")).toBeCloseTo(0.25 * 0.5);
    expect(fused.get("c")).toBeCloseTo(0.75);
    expect(fused.get("d")).toBeCloseTo(0);
  });

  it("orders best first and keeps members of either list", () => {
    expect(fuseRelativeScores(vector, lexical, 0.5).map((s) => s.id)).toEqual(["a", "c", "b", "d"]);
  });

  it("alpha 1 is the vector order, alpha 0 the lexical order", () => {
    expect(
      fuseRelativeScores(vector, lexical, 1)
        .map((s) => s.id)
        .slice(0, 3),
    ).toEqual(["a", "b", "c"]);
    expect(
      fuseRelativeScores(vector, lexical, 0)
        .map((s) => s.id)
        .slice(0, 2),
    ).toEqual(["c", "d"]);
  });

  it("a list whose scores are all equal counts 1 for each member", () => {
    const fused = fuseRelativeScores([{ id: "only", score: 0.3 }], [], 0.5);
    expect(fused).toEqual([{ id: "only", score: 0.5 }]);
  });
});
