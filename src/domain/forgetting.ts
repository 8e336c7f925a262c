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

/**
 * A condition a store can apply itself (a filtered bulk delete): every
 * memory that matches is certainly one `selectForEviction` would pick.
 */
export interface EvictionBand {
  /** Never-used, unpinned memories with importance in [importanceFrom, importanceBelow)... */
  readonly importanceFrom: number;
  readonly importanceBelow: number;
  /** ...last used (or created) before this... */
  readonly lastUsedBefore: Date;
  /** ...and created before this. */
  readonly createdBefore: Date;
}

/**
 * Importance bands whose members are evictable by thresholds alone. For a
 * memory never accessed, usefulness is its importance, so one with
 * importance below b is forgotten once idle for more than
 * halfLife × log2(b / threshold). Bands double from the threshold up to 1;
 * each is a plain range filter, so a store can delete a band in bulk
 * without loading it. Memories outside every band (used ones, band edges)
 * are left to the exact pass.
 */
export function evictionBands(now: Date, policy: EvictionPolicy): EvictionBand[] {
  if (policy.scoreThreshold <= 0) return [];
  const createdBefore = new Date(now.getTime() - policy.minAgeHours * 3_600_000);
  const bands: EvictionBand[] = [];
  let from = 0;
  for (let below = policy.scoreThreshold; from < 1; below = Math.min(1, below * 2)) {
    const idleHours = policy.halfLifeHours * Math.log2(below / policy.scoreThreshold);
    // Strictly older than the idle time: at exactly that age the score equals the threshold.
    const lastUsedBefore = new Date(now.getTime() - idleHours * 3_600_000 - 1);
    bands.push({ importanceFrom: from, importanceBelow: below, lastUsedBefore, createdBefore });
    from = below;
    if (below >= 1) break;
  }
  return bands;
}
