import { recencyWeight } from "./recency.js";
import type { Memory, ScoredMemory } from "./types.js";

/**
 * Type-aware ranking of recall candidates: pure, given `now`.
 *
 * - semantic facts: relevance alone; a fact does not go stale by age;
 * - episodic events: relevance alone, unless the query is about recency
 *   ("now", "lately", "the last time": domain/recall-query.ts); then
 *   weighted by recency of the event, so of two similar events the recent
 *   one ranks first. Always ageing events lost answers to "when did..."
 *   questions about old events (LoCoMo dev set, docs/recall-quality.md);
 * - preferences: relevance while valid; superseded ones (only present when
 *   history is asked for) rank at half.
 * Importance nudges every score (±5%: the gate's importance says how
 * durable a memory is, not how well it answers; at ±12.5% it reordered
 * answers behind better-typed non-answers); pinned memories never decay.
 */
export interface RankingPolicy {
  /** Recency of an episodic memory halves every this many hours. */
  readonly episodicHalfLifeHours: number;
  /**
   * Weight of vector similarity against BM25 when a recall's candidates are
   * fused (domain/hybrid-fusion.ts): 1 is vector search alone, 0 BM25 alone.
   */
  readonly hybridAlpha: number;
}

export interface RankCandidate {
  readonly memory: Memory;
  /** Query similarity, 0..1. */
  readonly relevance: number;
}

export function scoreMemory(candidate: RankCandidate, now: Date, policy: RankingPolicy, aboutRecency = false): number {
  const { memory, relevance } = candidate;
  let typeWeight = 1;
  if (memory.type === "episodic" && !memory.pinned && aboutRecency) {
    typeWeight = 0.5 + 0.5 * recencyWeight(memory.occurredAt, now, policy.episodicHalfLifeHours);
  } else if (memory.type === "preference" && memory.supersededBy !== undefined) {
    typeWeight = 0.5;
  }
  const importanceWeight = 0.95 + 0.1 * (memory.importance - 0.5);
  return clampUnit(relevance * typeWeight * importanceWeight);
}

export function rankMemories(
  candidates: readonly RankCandidate[],
  now: Date,
  policy: RankingPolicy,
  options: { topK: number; minScore: number; aboutRecency?: boolean },
): ScoredMemory[] {
  return (
    candidates
      .map((c) => ({
        memory: c.memory,
        relevance: clampUnit(c.relevance),
        score: scoreMemory(c, now, policy, options.aboutRecency ?? false),
      }))
      // Every candidate matched the query (a positive cosine or a shared word,
      // see MemorySearch); a fused relevance of 0 is the weakest of them, not no match.
      .filter((s) => s.score >= options.minScore)
      .sort((a, b) => b.score - a.score || b.memory.updatedAt.getTime() - a.memory.updatedAt.getTime())
      .slice(0, options.topK)
  );
}

function clampUnit(value: number): number {
  return Math.min(1, Math.max(0, value));
}
