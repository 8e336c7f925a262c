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
 * How long a memory's strength takes to halve, in hours: the policy's
 * half-life H scaled by importance and by use, in the spirit of spaced
 * repetition (each recall makes the next forgetting slower):
 *
 *   halfLife(i, n) = H × max(1, 4·i) × (1 + log2(1 + n))
 *
 * for importance i and access count n. Trivia (i ≤ 0.25) decays at H; an
 * importance of 0.8 decays 3.2 times slower; one recall doubles the
 * half-life, three triple it, seven quadruple it.
 */
export function strengthHalfLifeHours(importance: number, accessCount: number, policy: EvictionPolicy): number {
  return policy.halfLifeHours * importanceFactor(importance) * (1 + Math.log2(1 + Math.max(0, accessCount)));
}

function importanceFactor(importance: number): number {
  return Math.max(1, 4 * importance);
}

/**
 * importance × recency, where recency halves every
 * `strengthHalfLifeHours` since the memory was last used (or created).
 */
export function retentionScore(candidate: EvictionCandidate, now: Date, policy: EvictionPolicy): number {
  const lastUse = candidate.lastAccessedAt ?? candidate.createdAt;
  return (
    candidate.importance *
    recencyWeight(lastUse, now, strengthHalfLifeHours(candidate.importance, candidate.accessCount, policy))
  );
}

/**
 * Hours a memory can stay unused before its score falls below the
 * threshold: importance × 0.5^(t / halfLife) < θ  ⇔  t > halfLife × log2(i / θ).
 * 0 when it is already below (i ≤ θ). The README's survival table is this.
 */
export function survivalHours(importance: number, accessCount: number, policy: EvictionPolicy): number {
  if (importance <= policy.scoreThreshold) return 0;
  return strengthHalfLifeHours(importance, accessCount, policy) * Math.log2(importance / policy.scoreThreshold);
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
 * Importance bands whose members are evictable by thresholds alone. A
 * never-used memory (n = 0) of importance i is forgotten once idle for more
 * than survival(i) = H × max(1, 4i) × log2(i / θ) (see `survivalHours`).
 * survival is strictly increasing in i where positive (both factors are
 * non-decreasing and the logarithm strictly increasing) and ≤ 0 for i ≤ θ,
 * so over a band [from, below) it is below survival(below): every member
 * idle for at least survival(below) + 1 ms is certainly evictable. Bands
 * double from the threshold up to 1; each is a plain range filter, so a
 * store can delete a band in bulk without loading it. Memories outside
 * every band (used ones, band edges) are left to the exact pass.
 */
export function evictionBands(now: Date, policy: EvictionPolicy): EvictionBand[] {
  // Explicitly pinned ids are not visible to a store's bulk delete.
  if (policy.scoreThreshold <= 0 || (policy.pinnedIds?.size ?? 0) > 0) return [];
  const createdBefore = new Date(now.getTime() - policy.minAgeHours * 3_600_000);
  const bands: EvictionBand[] = [];
  let from = 0;
  for (let below = policy.scoreThreshold; from < 1; below = Math.min(1, below * 2)) {
    const idleHours = survivalHours(below, 0, policy);
    // Strictly older than the idle time: at exactly that age a memory of importance `below` scores the threshold.
    const lastUsedBefore = new Date(now.getTime() - Math.ceil(idleHours * 3_600_000) - 1);
    bands.push({ importanceFrom: from, importanceBelow: below, lastUsedBefore, createdBefore });
    from = below;
    if (below >= 1) break;
  }
  return bands;
}
