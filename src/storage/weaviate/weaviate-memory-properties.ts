import type { MemoryRecord, MemorySource, MemoryType, Metadata } from "../../domain/types.js";
import { parseMemoryHistory } from "../memory-history.js";

/**
 * How a memory is kept as a Weaviate object: a record to and from its
 * properties (declared, each with its reason, in weaviate-schema.ts). Some
 * are derived (superseded, lastUsedAt, listKey, metadataPairs, speakerWords)
 * because Weaviate filters, sorts and ranks on stored properties only.
 */

export type Properties = Record<string, unknown>;

/** Written only by recordAccess (and on insert), never by update. */
export const accessProperties = ["accessCount", "lastAccessedAt", "lastUsedAt"] as const;

export function toProperties(record: MemoryRecord): Properties {
  return {
    namespace: record.scope.namespace,
    userId: record.scope.userId,
    type: record.type,
    content: record.content,
    importance: record.importance,
    metadata: JSON.stringify(record.metadata),
    subject: record.subject,
    pinned: record.pinned,
    superseded: record.supersededBy !== undefined,
    supersededBy: record.supersededBy ?? "",
    occurredAt: record.occurredAt,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.lastAccessedAt ? { lastAccessedAt: record.lastAccessedAt } : {}),
    lastUsedAt: record.lastAccessedAt ?? record.createdAt,
    accessCount: record.accessCount,
    ...(record.validUntil ? { validUntil: record.validUntil } : {}),
    sourceKind: record.source.kind,
    sourceSession: record.source.sessionId,
    sourceMessageIds: [...record.source.messageIds],
    sourceCaller: record.source.caller,
    history: JSON.stringify(record.history ?? []),
    listKey: listKey(record),
    metadataPairs: metadataPairs(record.metadata),
    speaker: record.speaker ?? "",
    speakerWords: record.speaker ?? "",
  };
}

/** A memory's place in ListMemories' (createdAt, id) order, compared as text: the time is zero-padded for that. */
export function listKey(at: { readonly createdAt: Date; readonly id: string }): string {
  return `${String(at.createdAt.getTime()).padStart(15, "0")}:${at.id}`;
}

/** Metadata as `key=value` texts, so a metadata filter is one containsAny per pair. */
export function metadataPairs(metadata: Metadata): string[] {
  return Object.entries(metadata).map(([key, value]) => `${key}=${value}`);
}

/** An object's default vector, empty when the query did not ask for vectors. */
export function vectorOf(vectors: unknown): Float32Array {
  const v = (vectors as Record<string, unknown> | undefined)?.default;
  return Float32Array.from((Array.isArray(v) ? v : []) as number[]);
}

export function toRecord(id: string, p: Properties, embedding: Float32Array): MemoryRecord {
  const date = (value: unknown) => (value instanceof Date ? value : value ? new Date(String(value)) : undefined);
  return {
    id,
    scope: { namespace: String(p.namespace), userId: String(p.userId) },
    type: String(p.type) as MemoryType,
    content: String(p.content),
    importance: Number(p.importance),
    metadata: JSON.parse(String(p.metadata ?? "{}")) as Record<string, string>,
    subject: String(p.subject ?? ""),
    pinned: p.pinned === true,
    occurredAt: date(p.occurredAt)!,
    createdAt: date(p.createdAt)!,
    updatedAt: date(p.updatedAt)!,
    lastAccessedAt: date(p.lastAccessedAt),
    accessCount: Number(p.accessCount ?? 0),
    supersededBy: p.supersededBy ? String(p.supersededBy) : undefined,
    validUntil: date(p.validUntil),
    embedding,
    source: {
      kind: p.sourceKind ? (String(p.sourceKind) as MemorySource["kind"]) : "unknown",
      sessionId: String(p.sourceSession ?? ""),
      messageIds: Array.isArray(p.sourceMessageIds) ? p.sourceMessageIds.map(String) : [],
      caller: String(p.sourceCaller ?? ""),
    },
    history: parseMemoryHistory(p.history ? String(p.history) : undefined),
    ...(p.speaker ? { speaker: String(p.speaker) } : {}),
  };
}
