import { Filters, type Collection, type FilterValue } from "weaviate-client";
import type { EvictionBand, EvictionCandidate } from "../../domain/forgetting.js";
import { isTenantNotFound } from "./weaviate-errors.js";
import type { FilterBuilder } from "./weaviate-memory-filter.js";

/**
 * Forgetting's reads and bulk deletes on one user's tenant. The tenant is
 * passed as a function and asked for again per request, as every store call
 * does: each request then marks the tenant used (so tenant sleep never puts
 * it to sleep during a long delete) and fails fast once Weaviate is found
 * unreachable.
 */
type TenantOf = () => Collection<undefined, string>;

/** Ids per by-id delete request: well under what one bulk delete removes (QUERY_MAXIMUM_RESULTS, 10,000 by default). */
const idsPerDelete = 1000;

/** deleteMany removes at most the server's QUERY_MAXIMUM_RESULTS per call; loop until none match. */
const deleteManyRounds = 1000;

/** One page of eviction candidates after the object `after` (in id order): only the properties forgetting reads. */
export async function evictionCandidatePage(
  tenant: Collection<undefined, string>,
  batchSize: number,
  after: string | undefined,
): Promise<EvictionCandidate[]> {
  let page;
  try {
    page = await tenant.query.fetchObjects({
      limit: batchSize,
      ...(after ? { after } : {}),
      returnProperties: ["importance", "pinned", "createdAt", "lastAccessedAt", "accessCount"],
    });
  } catch (error) {
    if (isTenantNotFound(error)) return [];
    throw error;
  }
  return page.objects.map((o) => ({
    id: o.uuid,
    importance: Number(o.properties.importance),
    pinned: o.properties.pinned === true,
    createdAt: o.properties.createdAt as Date,
    lastAccessedAt: (o.properties.lastAccessedAt as Date | undefined) ?? undefined,
    accessCount: Number(o.properties.accessCount ?? 0),
  }));
}

/** Deletes these objects, in requests of at most `idsPerDelete` ids; how many existed. */
export async function deleteByIds(tenant: TenantOf, f: FilterBuilder, ids: readonly string[]): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < ids.length; i += idsPerDelete) {
    const chunk = ids.slice(i, i + idsPerDelete);
    const result = await tenant().data.deleteMany(f.byId().containsAny(chunk));
    deleted += result.successful;
  }
  return deleted;
}

/**
 * Deletes every never-accessed, unpinned memory inside the band, in rounds
 * until none match; how many. Counts only: weaviate-client cannot decode
 * verbose results of large deletes, so no ids are reported.
 */
export async function deleteBandMembers(tenant: TenantOf, f: FilterBuilder, band: EvictionBand): Promise<number> {
  const where = bandConditions(f, band);
  let deleted = 0;
  try {
    for (let round = 0; round < deleteManyRounds; round++) {
      const result = await tenant().data.deleteMany(where);
      deleted += result.successful;
      if (result.matches === 0 || result.successful === 0) break;
    }
  } catch (error) {
    if (!isTenantNotFound(error)) throw error;
  }
  return deleted;
}

function bandConditions(f: FilterBuilder, band: EvictionBand): FilterValue {
  return Filters.and(
    f.byProperty("pinned").equal(false),
    f.byProperty("accessCount").equal(0),
    f.byProperty("importance").greaterOrEqual(band.importanceFrom),
    f.byProperty("importance").lessThan(band.importanceBelow),
    f.byProperty("lastUsedAt").lessThan(band.lastUsedBefore),
    f.byProperty("createdAt").lessThan(band.createdBefore),
  );
}
