import type { ContextItem, OmittedItem, SectionKind } from "./types.js";

/**
 * Token-budget packing for context assembly: pure, tested without I/O.
 *
 * Each section first gets its share of the budget and fills it with its
 * highest-priority items; what any section leaves unused then goes to the
 * remaining items in section order. So no section can starve the others,
 * and no budget is wasted when a section is short.
 */
export interface PackCandidate extends ContextItem {
  /** Higher is kept first. */
  readonly priority: number;
}

export interface SectionCandidates {
  readonly kind: SectionKind;
  /** Items in prompt order. */
  readonly items: readonly PackCandidate[];
  /** Fraction of the budget reserved for this section in the first pass. */
  readonly share: number;
  /**
   * Keep an unbroken run of the highest-priority items: stop at the first
   * that does not fit rather than skipping to smaller ones. For history,
   * where a gap in the conversation would mislead the model.
   */
  readonly contiguous?: boolean;
}

export interface PackedSection {
  readonly kind: SectionKind;
  /** Kept items, in prompt order. */
  readonly items: readonly ContextItem[];
  readonly tokenCount: number;
}

export interface PackResult {
  readonly sections: readonly PackedSection[];
  readonly omitted: readonly OmittedItem[];
  readonly totalTokens: number;
}

export function packContext(sections: readonly SectionCandidates[], budget: number): PackResult {
  const kept = sections.map(() => new Set<PackCandidate>());
  const byPriority = sections.map((s) => [...s.items].sort((a, b) => b.priority - a.priority));
  let used = 0;

  sections.forEach((section, i) => {
    let allowance = Math.floor(budget * section.share);
    for (const item of byPriority[i]!) {
      if (item.tokenCount <= allowance && used + item.tokenCount <= budget) {
        kept[i]!.add(item);
        allowance -= item.tokenCount;
        used += item.tokenCount;
      } else if (section.contiguous) {
        break;
      }
    }
  });
  sections.forEach((section, i) => {
    for (const item of byPriority[i]!) {
      if (kept[i]!.has(item)) continue;
      if (used + item.tokenCount <= budget) {
        kept[i]!.add(item);
        used += item.tokenCount;
      } else if (section.contiguous) {
        break;
      }
    }
  });

  const omitted: OmittedItem[] = [];
  const packed = sections.map((section, i) => {
    const items: ContextItem[] = [];
    let tokenCount = 0;
    for (const item of section.items) {
      if (kept[i]!.has(item)) {
        items.push({
          id: item.id,
          content: item.content,
          tokenCount: item.tokenCount,
          ...(item.turn ? { turn: item.turn } : {}),
        });
        tokenCount += item.tokenCount;
      } else {
        omitted.push({ section: section.kind, id: item.id, tokenCount: item.tokenCount });
      }
    }
    return { kind: section.kind, items, tokenCount };
  });
  return { sections: packed, omitted, totalTokens: used };
}
