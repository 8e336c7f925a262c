import { describe, expect, it } from "vitest";
import { packContext, type SectionCandidates } from "../../src/domain/packing.js";

const item = (id: string, tokenCount: number, priority: number) => ({ id, content: id, tokenCount, priority });

describe("packContext", () => {
  it("keeps everything when the budget allows, in prompt order", () => {
    const result = packContext(
      [
        { kind: "long_term_memories", share: 0.5, items: [item("m1", 10, 1), item("m2", 10, 2)] },
        { kind: "documents", share: 0.5, items: [item("d1", 10, 1)] },
      ],
      100,
    );
    expect(result.sections.map((s) => s.items.map((i) => i.id))).toEqual([["m1", "m2"], ["d1"]]);
    expect(result.totalTokens).toBe(30);
    expect(result.omitted).toEqual([]);
  });

  it("never exceeds the budget and reports what it left out", () => {
    const result = packContext(
      [{ kind: "documents", share: 1, items: [item("a", 40, 3), item("b", 40, 2), item("c", 40, 1)] }],
      100,
    );
    expect(result.totalTokens).toBeLessThanOrEqual(100);
    expect(result.sections[0]?.items.map((i) => i.id)).toEqual(["a", "b"]);
    expect(result.omitted).toEqual([{ section: "documents", id: "c", tokenCount: 40 }]);
  });

  it("stops one section from starving the others", () => {
    const sections: SectionCandidates[] = [
      { kind: "long_term_memories", share: 0.5, items: [item("m1", 60, 2), item("m2", 40, 1)] },
      { kind: "conversation_history", share: 0.5, items: [item("h1", 50, 1)] },
    ];
    const result = packContext(sections, 100);
    expect(result.sections[1]?.items.map((i) => i.id)).toEqual(["h1"]);
    expect(result.sections[0]?.items.map((i) => i.id)).toEqual(["m2"]);
  });

  it("gives a section's unused share to the others", () => {
    const result = packContext(
      [
        { kind: "task_state", share: 0.5, items: [] },
        { kind: "documents", share: 0.5, items: [item("d1", 45, 2), item("d2", 45, 1)] },
      ],
      100,
    );
    expect(result.sections[1]?.items.map((i) => i.id)).toEqual(["d1", "d2"]);
  });

  it("keeps a contiguous run of history rather than skipping to older, shorter turns", () => {
    const history = [item("old-short", 5, 1), item("middle-long", 80, 2), item("newest", 10, 3)];
    const contiguous = packContext([{ kind: "conversation_history", share: 1, contiguous: true, items: history }], 50);
    expect(contiguous.sections[0]?.items.map((i) => i.id)).toEqual(["newest"]);
    const gappy = packContext([{ kind: "conversation_history", share: 1, items: history }], 50);
    expect(gappy.sections[0]?.items.map((i) => i.id)).toEqual(["old-short", "newest"]);
  });
});
