import { fuseRelativeScores } from "./hybrid-fusion.js";
import type { RecallCandidates } from "./ports.js";
import { rankMemories, type RankingPolicy } from "./ranking.js";
import type { RecallQuery } from "./recall-query.js";
import { discountOutsidePeriod } from "./period-match.js";
import { liftReplies } from "./reply-lift.js";
import { boostNamedSpeakers } from "./speaker-match.js";
import { withoutEmbedding, type Memory, type ScoredMemory } from "./types.js";

/**
 * Recall's ranking, the same for every backend: stores return each
 * signal's raw candidates (LongTermStore.candidates), and these pure stages
 * turn them into results, each measured on LoCoMo's dev set
 * (docs/recall-quality.md):
 *
 * 1. fusion: relative-score fusion of vector and BM25 (domain/hybrid-fusion.ts),
 *    weighted by `hybridAlpha`;
 * 2. who said it: memories of a speaker the query names gain
 *    `speakerBoost` (domain/speaker-match.ts);
 * 3. when it was said: memories said outside the period the query names
 *    lose `periodDiscount` of their relevance (domain/period-match.ts);
 * 4. the neighbouring turn: a candidate lifts the one said right after it
 *    (domain/reply-lift.ts);
 * 5. type, recency (only for queries about recency) and importance
 *    (domain/ranking.ts), then top_k and min_score.
 */
export interface RecallRankingPolicy extends RankingPolicy {
  /** How far memories of a speaker the query names move towards relevance 1 (0..1). */
  readonly speakerBoost: number;
  /** Share of relevance lost by memories said outside the period the query names (0..1). */
  readonly periodDiscount: number;
  /** Share of a candidate's relevance lent to the candidate said right after it (0..1). */
  readonly replyShare: number;
  /** How close in time two memories of a session must be to count as neighbouring turns. */
  readonly replyWindowMs: number;
}

export const defaultRecallStages = {
  speakerBoost: 0.25,
  periodDiscount: 0.5,
  replyShare: 0.5,
  replyWindowMs: 10 * 60_000,
} as const;

export function rankRecallCandidates(
  query: RecallQuery,
  candidates: RecallCandidates,
  now: Date,
  policy: RecallRankingPolicy,
  options: { topK: number; minScore: number },
): ScoredMemory[] {
  const memories = new Map<string, Memory>();
  for (const hit of [...candidates.vector, ...candidates.lexical]) {
    if (!memories.has(hit.record.id)) memories.set(hit.record.id, withoutEmbedding(hit.record));
  }
  const scored = (list: RecallCandidates["vector"]) => list.map((h) => ({ id: h.record.id, score: h.score }));
  const fused = fuseRelativeScores(scored(candidates.vector), scored(candidates.lexical), policy.hybridAlpha).map(
    (s) => ({ memory: memories.get(s.id)!, relevance: s.score }),
  );
  const spoken = boostNamedSpeakers(fused, query.names, policy.speakerBoost);
  const dated = discountOutsidePeriod(spoken, query.period, policy.periodDiscount);
  const lifted = liftReplies(dated, policy.replyShare, policy.replyWindowMs);
  return rankMemories(lifted, now, policy, { ...options, aboutRecency: query.aboutRecency });
}
