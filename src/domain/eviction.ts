import type { LongTermStore } from "./ports.js";
import { InvalidArgumentError } from "./errors.js";
import { evictionBands, retentionScore, selectForEviction, selectOverBudget } from "./forgetting.js";
import { limits } from "./limits.js";
import type { EvictionPolicy, EvictionReport, Scope } from "./types.js";
import { requireId, requireIntInRange, requireUnitInterval } from "./validation.js";

export interface EvictionTarget {
  /** Undefined sweeps every namespace. */
  readonly namespace: string | undefined;
  /** Undefined sweeps every user of the namespace(s). */
  readonly userId: string | undefined;
}

const batchSize = 1000;

/**
 * Applies forgetting per user in two passes. First (real runs only) the
 * store deletes in bulk every band of memories that thresholds alone prove
 * stale (`evictionBands`), without loading them. Then the rest streams in
 * batches through the exact, pure `selectForEviction`, which deletes (or, in
 * a dry run, counts) what it picks. Memory use stays flat however many
 * memories and users there are.
 */
export async function evictStale(
  store: LongTermStore,
  target: EvictionTarget,
  policy: EvictionPolicy,
  options: {
    now: Date;
    dryRun: boolean;
    signal?: AbortSignal;
    /** Called once at the end of a real run with what each pass forgot. */
    onEvicted?: (counts: { band: number; policy: number }) => void;
  },
): Promise<EvictionReport> {
  validateTarget(target);
  validatePolicy(policy);
  const users: AsyncIterable<Scope> | Scope[] =
    target.userId === undefined
      ? store.users(target.namespace)
      : [{ namespace: target.namespace!, userId: target.userId }];
  let scanned = 0;
  let evicted = 0;
  let byBand = 0;
  const evictedIds: string[] = [];
  const bands = evictionBands(options.now, policy);
  const report = (ids: readonly string[]) =>
    evictedIds.push(...ids.slice(0, limits.evictedIdsReported - evictedIds.length));
  for await (const scope of users) {
    if (!options.dryRun) {
      for (const band of bands) {
        options.signal?.throwIfAborted();
        const { deleted, ids } = await store.deleteBand(scope, band);
        scanned += deleted;
        evicted += deleted;
        byBand += deleted;
        report(ids);
      }
    }
    // Survivors' ids and scores, only when a budget needs them.
    const survivors: { id: string; score: number; pinned: boolean }[] = [];
    for await (const batch of store.evictionCandidates(scope, batchSize)) {
      options.signal?.throwIfAborted();
      scanned += batch.length;
      const ids = selectForEviction(batch, options.now, policy);
      if (policy.maxMemoriesPerUser > 0) {
        const chosen = new Set(ids);
        for (const c of batch) {
          if (!chosen.has(c.id)) {
            survivors.push({
              id: c.id,
              score: retentionScore(c, options.now, policy),
              pinned: c.pinned || (policy.pinnedIds?.has(c.id) ?? false),
            });
          }
        }
      }
      if (ids.length === 0) continue;
      evicted += options.dryRun ? ids.length : await store.deleteMany(scope, ids);
      report(ids);
    }
    const overBudget = selectOverBudget(survivors, policy);
    if (overBudget.length > 0) {
      evicted += options.dryRun ? overBudget.length : await store.deleteMany(scope, overBudget);
      report(overBudget);
    }
  }
  if (!options.dryRun) options.onEvicted?.({ band: byBand, policy: evicted - byBand });
  return { scanned, evicted, evictedIds, dryRun: options.dryRun };
}

function validateTarget(target: EvictionTarget): void {
  if (target.namespace !== undefined && !limits.namespacePattern.test(target.namespace)) {
    throw new InvalidArgumentError(
      "namespace",
      "must be 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
    );
  }
  if (target.userId !== undefined) {
    if (target.namespace === undefined) throw new InvalidArgumentError("namespace", "is required when user_id is set");
    requireId(target.userId, "user_id");
  }
}

function validatePolicy(policy: EvictionPolicy): void {
  requireUnitInterval(policy.scoreThreshold, "policy.score_threshold");
  requireIntInRange(policy.halfLifeHours, "policy.half_life_hours", 1, limits.policyHoursMax);
  requireIntInRange(policy.minAgeHours, "policy.min_age_hours", 0, limits.policyHoursMax);
  requireIntInRange(policy.maxAgeHours, "policy.max_age_hours", 0, limits.policyHoursMax);
  requireIntInRange(policy.maxMemoriesPerUser, "policy.max_memories_per_user", 0, 100_000_000);
}
