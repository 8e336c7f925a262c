import type { MemoryRecord } from "./types.js";
import { cosine } from "./vectors.js";

/**
 * The memories a batch has created so far, indexed for settling the next
 * item: which of them could be the same memory as it, or about its subject.
 *
 * Settling compared every item with every memory created before it in the
 * batch, and a pair close in meaning costs two word-set comparisons of up
 * to 8 KiB each: 480 near-identical items of 8 KiB (a legal ImportMemories)
 * held the event loop for 26 s. An item is now compared with a bounded set,
 * like the store's own lookup (`limit` nearest by cosine): an exact copy
 * (found by its text, whatever the similarity), the `limit` nearest of its
 * type by cosine (one dot product per created memory, the only linear
 * step), and the current memories of its subject, which the subject rules
 * need whatever their similarity.
 */
export class BatchCandidates {
  /** Created memories by id, in creation order; the caller keeps them current through `put`. */
  private readonly records = new Map<string, MemoryRecord>();
  private readonly byText = new Map<string, string>();

  constructor(private readonly limit: number) {}

  has(id: string): boolean {
    return this.records.has(id);
  }

  get(id: string): MemoryRecord | undefined {
    return this.records.get(id);
  }

  values(): IterableIterator<MemoryRecord> {
    return this.records.values();
  }

  /** Adds a created memory or replaces its earlier state. */
  put(record: MemoryRecord): void {
    this.records.set(record.id, record);
    this.byText.set(textKey(record), record.id);
  }

  /** Created memories that may be the same as `item` or about its subject, with their cosine relevance. */
  candidates(
    item: Pick<MemoryRecord, "type" | "subject" | "content" | "embedding">,
    /** Of every type, not only the item's (a change statement may change a memory of another type). */
    anyType = false,
  ): {
    record: MemoryRecord;
    relevance: number;
  }[] {
    const chosen = new Map<string, { record: MemoryRecord; relevance: number }>();
    const nearest: { record: MemoryRecord; relevance: number }[] = [];
    for (const record of this.records.values()) {
      if (!anyType && record.type !== item.type) continue;
      const relevance = Math.max(0, cosine(item.embedding, record.embedding));
      if (item.subject !== "" && record.subject === item.subject && record.supersededBy === undefined)
        chosen.set(record.id, { record, relevance });
      if (nearest.length < this.limit) {
        nearest.push({ record, relevance });
        if (nearest.length === this.limit) nearest.sort((a, b) => b.relevance - a.relevance);
      } else if (relevance > nearest[nearest.length - 1]!.relevance) {
        // Insert in order; `limit` is small (the store's lookup size).
        let at = nearest.length - 1;
        while (at > 0 && nearest[at - 1]!.relevance < relevance) at--;
        nearest.splice(at, 0, { record, relevance });
        nearest.pop();
      }
    }
    for (const hit of nearest) chosen.set(hit.record.id, hit);
    const copyId = this.byText.get(textKey(item));
    const copy = copyId === undefined ? undefined : this.records.get(copyId);
    if (copy && textKey(copy) === textKey(item) && !chosen.has(copy.id)) {
      chosen.set(copy.id, { record: copy, relevance: Math.max(0, cosine(item.embedding, copy.embedding)) });
    }
    return [...chosen.values()];
  }
}

/** An exact copy: same type and the same words, whatever the case and spacing. */
function textKey(memory: Pick<MemoryRecord, "type" | "content">): string {
  return `${memory.type}\u0000${memory.content.toLowerCase().replace(/\s+/g, " ").trim()}`;
}
