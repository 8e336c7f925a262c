import type { Collection, FilterValue } from "weaviate-client";
import type { MemoryFilter, MemorySearch } from "../../domain/ports.js";
import { metadataPairs } from "./weaviate-memory-properties.js";

/** The collection's filter builder: conditions are built per collection, as weaviate-client types them. */
export type FilterBuilder = Collection<undefined, string>["filter"];

/**
 * A filter as Weaviate property conditions (to be and-ed), so the query
 * itself filters instead of Engram reading and dropping objects.
 */
export function filterConditions(f: FilterBuilder, filter: MemoryFilter | undefined): FilterValue[] {
  const conditions: FilterValue[] = [];
  if (!filter) return conditions;
  if (filter.types && filter.types.length > 0) conditions.push(f.byProperty("type").containsAny([...filter.types]));
  if (filter.subject !== undefined) conditions.push(f.byProperty("subject").equal(filter.subject));
  if (filter.pinned !== undefined) conditions.push(f.byProperty("pinned").equal(filter.pinned));
  if (filter.superseded !== undefined) conditions.push(f.byProperty("superseded").equal(filter.superseded));
  if (filter.supersededBy !== undefined) conditions.push(f.byProperty("supersededBy").equal(filter.supersededBy));
  if (filter.sourceSessionId !== undefined) {
    conditions.push(f.byProperty("sourceSession").equal(filter.sourceSessionId));
  }
  for (const pair of metadataPairs(filter.metadata ?? {})) {
    conditions.push(f.byProperty("metadataPairs").containsAny([pair]));
  }
  if (filter.occurredFrom) conditions.push(f.byProperty("occurredAt").greaterOrEqual(filter.occurredFrom));
  if (filter.occurredBefore) conditions.push(f.byProperty("occurredAt").lessThan(filter.occurredBefore));
  if (filter.createdFrom) conditions.push(f.byProperty("createdAt").greaterOrEqual(filter.createdFrom));
  if (filter.createdBefore) conditions.push(f.byProperty("createdAt").lessThan(filter.createdBefore));
  return conditions;
}

/** What a search or recall may return: the filter's conditions and the search's own (types, superseded, speakers). */
export function searchConditions(
  f: FilterBuilder,
  search: Pick<MemorySearch, "filter" | "types" | "includeSuperseded" | "speakers">,
): FilterValue[] {
  const conditions = filterConditions(f, search.filter);
  if (search.types.length > 0) conditions.push(f.byProperty("type").containsAny([...search.types]));
  if (!search.includeSuperseded) conditions.push(f.byProperty("superseded").equal(false));
  if (search.speakers && search.speakers.length > 0) {
    conditions.push(f.byProperty("speaker").containsAny([...search.speakers]));
  }
  return conditions;
}
