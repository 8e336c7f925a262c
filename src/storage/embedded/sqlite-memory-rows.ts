import type { SQLInputValue } from "node:sqlite";
import type { MemoryRecord, MemorySource, MemoryType } from "../../domain/types.js";
import { parseMemoryHistory } from "../memory-history.js";
import type { VectorRow } from "./user-vector-cache.js";

/**
 * How a memory is kept: its columns in the memories table, its vector in
 * memory_vectors (same key), and a record to and from a row.
 */

export const keyColumns = ["namespace", "user_id", "id"] as const;
export const valueColumns = [
  "type",
  "content",
  "importance",
  "metadata",
  "subject",
  "pinned",
  "occurred_at",
  "created_at",
  "updated_at",
  "last_accessed_at",
  "access_count",
  "superseded_by",
  "valid_until",
  "source_kind",
  "source_session",
  "source_message_ids",
  "source_caller",
  "history",
  "speaker",
] as const;

export function vectorRow(record: MemoryRecord): VectorRow {
  return {
    id: record.id,
    type: record.type,
    superseded: record.supersededBy !== undefined,
    speaker: record.speaker ?? "",
    embedding: record.embedding,
  };
}

/** The columns a recall candidate is read from: every column of memories (toRecord leaves the embedding empty). */
export const candidateColumns = [...keyColumns, ...valueColumns].join(", ");

export const insertSql = `INSERT INTO memories (${[...keyColumns, ...valueColumns].join(", ")})
  VALUES (${[...keyColumns, ...valueColumns].map(() => "?").join(", ")})`;

/** A memory's vector, written and replaced in the same transaction as its row. */
export const insertVectorSql = "INSERT INTO memory_vectors (namespace, user_id, id, embedding) VALUES (?, ?, ?, ?)";
export const updateVectorSql = "UPDATE memory_vectors SET embedding = ? WHERE namespace = ? AND user_id = ? AND id = ?";

/**
 * A whole record: the row with its vector (LEFT JOIN: a row without one
 * still reads, with an empty embedding, rather than vanish). `where` is on
 * `m`, the memories table.
 */
export function recordSelect(where: string): string {
  return `SELECT m.*, v.embedding AS embedding FROM memories m
    LEFT JOIN memory_vectors v ON v.namespace = m.namespace AND v.user_id = m.user_id AND v.id = m.id
    WHERE ${where}`;
}

/** Written only by recordAccess (and on insert), never by update. */
export const accessColumns: ReadonlySet<string> = new Set(["last_accessed_at", "access_count"]);
export const updatedColumns = valueColumns.filter((c) => !accessColumns.has(c));

/** A record's values in `valueColumns` order. */
export function columnValues(record: MemoryRecord): SQLInputValue[] {
  return [
    record.type,
    record.content,
    record.importance,
    JSON.stringify(record.metadata),
    record.subject,
    record.pinned ? 1 : 0,
    record.occurredAt.getTime(),
    record.createdAt.getTime(),
    record.updatedAt.getTime(),
    record.lastAccessedAt?.getTime() ?? null,
    record.accessCount,
    record.supersededBy ?? null,
    record.validUntil?.getTime() ?? null,
    record.source.kind,
    record.source.sessionId,
    JSON.stringify(record.source.messageIds),
    record.source.caller,
    JSON.stringify(record.history ?? []),
    record.speaker ?? "",
  ];
}

export function vectorBytes(record: MemoryRecord): Uint8Array {
  return new Uint8Array(record.embedding.buffer, record.embedding.byteOffset, record.embedding.byteLength);
}

export function toVector(value: SQLInputValue | undefined): Float32Array {
  const bytes = value as Uint8Array;
  // Copy into an aligned buffer: a BLOB's bytes need not start on a 4-byte boundary.
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function toRecord(row: Record<string, SQLInputValue>): MemoryRecord {
  const optionalDate = (value: SQLInputValue | undefined) =>
    value === null || value === undefined ? undefined : new Date(Number(value));
  return {
    id: String(row.id),
    scope: { namespace: String(row.namespace), userId: String(row.user_id) },
    type: String(row.type) as MemoryType,
    content: String(row.content),
    importance: Number(row.importance),
    metadata: JSON.parse(String(row.metadata)) as Record<string, string>,
    subject: String(row.subject),
    pinned: Number(row.pinned) === 1,
    occurredAt: new Date(Number(row.occurred_at)),
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
    lastAccessedAt: optionalDate(row.last_accessed_at),
    accessCount: Number(row.access_count),
    supersededBy: row.superseded_by === null ? undefined : String(row.superseded_by),
    validUntil: optionalDate(row.valid_until),
    embedding: row.embedding === undefined || row.embedding === null ? new Float32Array(0) : toVector(row.embedding),
    source: {
      kind: String(row.source_kind) as MemorySource["kind"],
      sessionId: String(row.source_session),
      messageIds: JSON.parse(String(row.source_message_ids)) as string[],
      caller: String(row.source_caller),
    },
    history: parseMemoryHistory(typeof row.history === "string" ? row.history : undefined),
    ...(row.speaker ? { speaker: String(row.speaker) } : {}),
  };
}
