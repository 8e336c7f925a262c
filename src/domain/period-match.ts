import type { CandidateHit, RecallCandidates } from "./ports.js";
import type { QueryPeriod } from "./query-period.js";
import type { Memory } from "./types.js";

/**
 * When it was said: a question that names a period ("What did Joanna
 * finish in January 2022?", domain/query-period.ts) is about what was said
 * then, so memories said outside the period lose `discount` of their
 * relevance (r × (1 − discount)). The words of a date rarely appear in what
 * was said ("last Friday"), so neither BM25 nor the embedding tells the
 * period's memories apart; their own time does. A discount of the others,
 * not a boost of the period's, so that the period's best match can pass a
 * better match said at another time, however good. Queries naming no
 * period leave relevances as they are. Pure.
 *
 * Measured on LoCoMo's dev set (docs/recall-quality.md): a discount of 0.5
 * against a boost of the period's memories half way to 1, +0.9 points on
 * the write path, equal storing everything.
 */
export function discountOutsidePeriod<T extends { readonly memory: Memory; readonly relevance: number }>(
  candidates: readonly T[],
  period: QueryPeriod | undefined,
  discount: number,
): T[] {
  if (period === undefined || discount === 0) return [...candidates];
  return candidates.map((c) => (inPeriod(c.memory, period) ? c : { ...c, relevance: c.relevance * (1 - discount) }));
}

export function inPeriod(memory: Memory, period: QueryPeriod): boolean {
  const at = memory.occurredAt.getTime();
  return at >= period.from.getTime() && at < period.before.getTime();
}

/**
 * Each signal's candidates with those found by the same search limited to
 * the period: the best matches said in the period are rarely among the best
 * of all time, and ranking can only reorder candidates. Both searches score
 * alike (the same cosine, the same BM25 statistics), so their hits merge
 * into one list per signal, best first, each memory once.
 */
export function withPeriodCandidates(all: RecallCandidates, inPeriod: RecallCandidates): RecallCandidates {
  return { vector: merged(all.vector, inPeriod.vector), lexical: merged(all.lexical, inPeriod.lexical) };
}

function merged(a: readonly CandidateHit[], b: readonly CandidateHit[]): CandidateHit[] {
  const byId = new Map<string, CandidateHit>();
  for (const hit of [...a, ...b]) if (!byId.has(hit.record.id)) byId.set(hit.record.id, hit);
  return [...byId.values()].sort((x, y) => y.score - x.score);
}
