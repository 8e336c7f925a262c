import type { Collection } from "weaviate-client";
import { AccessWriteIncomplete } from "../../domain/pending-access.js";
import { isNotFound, isTenantNotFound, translateWeaviateErrors } from "./weaviate-errors.js";
import type { FilterBuilder } from "./weaviate-memory-filter.js";

/** Access-statistics merges sent at once by one flush: enough to overlap round trips, few enough to leave Weaviate to the queries. */
const accessMergesInFlight = 4;

/**
 * One read of the memories' access statistics (no vectors, no other
 * properties), then a merge (PATCH) of just those three properties per
 * memory, a few at a time. Not a batch write of whole objects: Weaviate
 * gives a replaced object a new document id and inserts its vector into
 * the HNSW graph again (leaving the old one for tombstone cleanup), work
 * that on a 100,000-memory tenant slowed the recalls beside it; a merge
 * keeps the document id and the vector index untouched. A memory deleted
 * between the read and its merge is skipped, never re-created. Safe
 * against lost counts because flushes and updates of one user run under
 * the user's write lock, and `update` never writes these properties.
 *
 * Throws the first failure when no merge applied, and AccessWriteIncomplete
 * naming the counts left unwritten when only some did, so the caller can
 * retry just those.
 */
export async function mergeAccessCounts(
  tenant: Collection<undefined, string>,
  f: FilterBuilder,
  counts: ReadonlyMap<string, number>,
  at: Date,
): Promise<void> {
  const ids = [...counts.keys()];
  let found;
  try {
    found = await tenant.query.fetchObjects({
      limit: ids.length,
      returnProperties: ["accessCount", "lastAccessedAt"],
      filters: f.byId().containsAny(ids),
    });
  } catch (error) {
    if (isTenantNotFound(error)) return; // the user was forgotten in the meantime
    throw error;
  }
  const merges = found.objects.map((o) => {
    const previous = o.properties.lastAccessedAt instanceof Date ? o.properties.lastAccessedAt : undefined;
    const last = previous && previous.getTime() > at.getTime() ? previous : at;
    return {
      id: o.uuid,
      properties: {
        accessCount: Number(o.properties.accessCount ?? 0) + (counts.get(o.uuid) ?? 0),
        lastAccessedAt: last,
        lastUsedAt: last,
      },
    };
  });
  const unapplied = new Map<string, number>();
  let failure: unknown;
  await inParallel(merges, accessMergesInFlight, async (merge) => {
    try {
      await tenant.data.update({ id: merge.id, properties: merge.properties as never });
    } catch (error) {
      if (isNotFound(error)) return;
      unapplied.set(merge.id, counts.get(merge.id) ?? 0);
      failure ??= error;
    }
  });
  if (unapplied.size > 0 && unapplied.size === merges.length) throw failure;
  if (unapplied.size > 0) {
    throw new AccessWriteIncomplete(
      unapplied,
      await translateWeaviateErrors(() => Promise.reject(failure)).catch((translated: unknown) => translated),
    );
  }
}

/** `work` over every item, at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
