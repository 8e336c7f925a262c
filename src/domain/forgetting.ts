import { hoursBetween, recencyWeight } from "./recency.js";
import type { EvictionPolicy } from "./types.js";

/**
 * What to forget: a pure choice from importance, recency of last access,
 * access count and age, given `now`. The I/O wrapper (`eviction.ts`) feeds
 * it one batch of a user's memories at a time and deletes what it returns.
 */
export interface EvictionCandidate {
  readonly id: string;
  readonly importance: number;
  readonly pinned: boolean;
  readonly createdAt: Date;
  readonly lastAccessedAt: Date | undefined;
  readonly accessCount: number;
}

/**
 * importance × recency, where recency halves every `halfLifeHours` since the
 * memory was last used (or created). Each doubling of use adds a little
 * importance, so memories that keep proving useful are kept longer.
 */
export function retentionScore(candidate: EvictionCandidate, now: Date, policy: EvictionPolicy): number {
  const usefulness = Math.min(1, candidate.importance + 0.05 * Math.log2(1 + candidate.accessCount));
  const lastUse = candidate.lastAccessedAt ?? candidate.createdAt;
  return usefulness * recencyWeight(lastUse, now, policy.halfLifeHours);
}

/** Ids to forget: unpinned, older than the minimum age, scoring below the threshold. */
export function selectForEviction(
  candidates: readonly EvictionCandidate[],
  now: Date,
  policy: EvictionPolicy,
): string[] {
  return candidates
    .filter(
      (c) =>
        !c.pinned &&
        hoursBetween(c.createdAt, now) >= policy.minAgeHours &&
        retentionScore(c, now, policy) < policy.scoreThreshold,
    )
    .map((c) => c.id);
}
