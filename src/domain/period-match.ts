import type { CandidateHit, RecallCandidates } from "./ports.js";
import type { QueryPeriod } from "./query-period.js";
import type { Memory } from "./types.js";

/**
 * When it was said: a question that names a period ("What did Joanna
 * finish in January 2022?", domain/query-period.ts) is about what was said
 * then, so memories whose `occurredAt` falls in the period move `boost` of
 * the way from their relevance to 1 (r + boost × (1 − r): still within
 * 0..1). The words of a date rarely appear in what was said ("last
 * Friday"), so neither BM25 nor the embedding finds them; the memory's own
 * time does. Queries naming no period leave relevances as they are. Pure.
 */
export function boostInPeriod<T extends { readonly memory: Memory; readonly relevance: number }>(
  candidates: readonly T[],
  period: QueryPeriod | undefined,
  boost: number,
): T[] {
  if (period === undefined || boost === 0) return [...candidates];
  return candidates.map((c) =>
    inPeriod(c.memory, period) ? { ...c, relevance: c.relevance + boost * (1 - c.relevance) } : c,
  );
}

export function inPeriod(memory: Memory, period: QueryPeriod): boolean {
  const at = memory.occurredAt.getTime();
  return at >= period.from.getTime() && at < period.before.getTime();
}

/**
 * Each signal's candidates with those found by the same search limited to
 * the period: the best matches said in the period are rarely among the best
 * of all time, and a boost can only reorder candidates. Both searches score
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
