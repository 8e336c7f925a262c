import type { SQLInputValue } from "node:sqlite";
import type { MemoryFilter } from "../../domain/ports.js";

/**
 * A filter as SQL conditions on the memories table and their parameters,
 * so a listing or a search only ever reads matching rows.
 */
export function filterSql(filter: MemoryFilter | undefined, table = ""): { where: string; params: SQLInputValue[] } {
  const t = table ? `${table}.` : "";
  const conditions: string[] = [];
  const params: SQLInputValue[] = [];
  const where = (condition: string, ...values: SQLInputValue[]) => {
    conditions.push(condition);
    params.push(...values);
  };
  if (filter?.types && filter.types.length > 0)
    where(`${t}type IN (${filter.types.map(() => "?").join(", ")})`, ...filter.types);
  if (filter?.subject !== undefined) where(`${t}subject = ?`, filter.subject);
  if (filter?.pinned !== undefined) where(`${t}pinned = ?`, filter.pinned ? 1 : 0);
  if (filter?.superseded !== undefined) where(`${t}superseded_by IS ${filter.superseded ? "NOT " : ""}NULL`);
  if (filter?.supersededBy !== undefined) where(`${t}superseded_by = ?`, filter.supersededBy);
  if (filter?.sourceSessionId !== undefined) where(`${t}source_session = ?`, filter.sourceSessionId);
  for (const [key, value] of Object.entries(filter?.metadata ?? {})) {
    where(`EXISTS (SELECT 1 FROM json_each(${t}metadata) WHERE json_each.key = ? AND json_each.value = ?)`, key, value);
  }
  if (filter?.occurredFrom) where(`${t}occurred_at >= ?`, filter.occurredFrom.getTime());
  if (filter?.occurredBefore) where(`${t}occurred_at < ?`, filter.occurredBefore.getTime());
  if (filter?.createdFrom) where(`${t}created_at >= ?`, filter.createdFrom.getTime());
  if (filter?.createdBefore) where(`${t}created_at < ?`, filter.createdBefore.getTime());
  return { where: conditions.map((c) => ` AND ${c}`).join(""), params };
}
