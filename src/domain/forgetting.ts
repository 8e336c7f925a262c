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

function isPinned(candidate: EvictionCandidate, policy: EvictionPolicy): boolean {
  return candidate.pinned || (policy.pinnedIds?.has(candidate.id) ?? false);
}

/**
 * Ids to forget: unpinned memories past their TTL (`maxAgeHours`), and
 * unpinned memories older than the minimum age scoring below the threshold.
 */
export function selectForEviction(
  candidates: readonly EvictionCandidate[],
  now: Date,
  policy: EvictionPolicy,
): string[] {
  return candidates
    .filter((c) => {
      if (isPinned(c, policy)) return false;
      const age = hoursBetween(c.createdAt, now);
      if (policy.maxAgeHours > 0 && age > policy.maxAgeHours) return true;
      return age >= policy.minAgeHours && retentionScore(c, now, policy) < policy.scoreThreshold;
    })
    .map((c) => c.id);
}

/**
 * The per-user budget: of the memories that survive `selectForEviction`,
 * the lowest-scoring unpinned ones beyond `maxMemoriesPerUser`. Takes only
 * ids and scores, so a user's whole set fits in memory cheaply.
 */
export function selectOverBudget(
  survivors: readonly { readonly id: string; readonly score: number; readonly pinned: boolean }[],
  policy: EvictionPolicy,
): string[] {
  if (policy.maxMemoriesPerUser <= 0 || survivors.length <= policy.maxMemoriesPerUser) return [];
  const excess = survivors.length - policy.maxMemoriesPerUser;
  return survivors
    .filter((s) => !s.pinned)
    .sort((a, b) => a.score - b.score)
    .slice(0, excess)
    .map((s) => s.id);
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
  // Explicitly pinned ids are not visible to a store's bulk delete.
  if (policy.scoreThreshold <= 0 || (policy.pinnedIds?.size ?? 0) > 0) return [];
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
