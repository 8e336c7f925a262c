import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ExportItem } from "../domain/engram.js";
import type { ImportItem, ImportOutcome } from "../domain/memory-intake.js";
import type { HistoryEntry, MemoryPatch } from "../domain/memory-management.js";
import type { MemoryFilter } from "../domain/ports.js";
import {
  ImportResultSchema,
  MemoryVersionSchema,
  type ImportedMemory,
  type MemoryFilter as ProtoFilter,
} from "../gen/engram/v1/long_term_pb.js";
import {
  ExportedMemorySchema,
  ExportedSessionSchema,
  type ExportUserResponse,
  type UpdateMemoryRequest,
} from "../gen/engram/v1/memory_service_pb.js";
import {
  memoryToProto,
  memoryTypeFromProto,
  messageToProto,
  optionalDate,
  rememberOutcomeToProto,
  summaryToProto,
  workingStateToProto,
} from "./convert.js";

/** Protobuf ↔ domain conversion for the management calls (list, history, update, import, export). */

export function memoryFilterFromProto(filter: ProtoFilter | undefined, field: string): MemoryFilter {
  if (!filter) return {};
  const dates = {
    occurredFrom: optionalDate(filter.occurredFrom, `${field}.occurred_from`),
    occurredBefore: optionalDate(filter.occurredBefore, `${field}.occurred_before`),
    createdFrom: optionalDate(filter.createdFrom, `${field}.created_from`),
    createdBefore: optionalDate(filter.createdBefore, `${field}.created_before`),
  };
  return {
    types: filter.types.map((t, i) => memoryTypeFromProto(t, `${field}.types[${i}]`)),
    ...(filter.subject !== undefined ? { subject: filter.subject } : {}),
    ...(filter.pinned !== undefined ? { pinned: filter.pinned } : {}),
    ...(filter.superseded !== undefined ? { superseded: filter.superseded } : {}),
    ...(filter.sourceSessionId !== undefined ? { sourceSessionId: filter.sourceSessionId } : {}),
    ...(Object.keys(filter.metadata).length > 0 ? { metadata: { ...filter.metadata } } : {}),
    ...Object.fromEntries(Object.entries(dates).filter(([, v]) => v !== undefined)),
  };
}

export function historyEntryToProto(entry: HistoryEntry) {
  return create(MemoryVersionSchema, {
    memoryId: entry.memoryId,
    content: entry.content,
    importance: entry.importance,
    subject: entry.subject,
    metadata: { ...entry.metadata },
    validFrom: timestampFromDate(entry.validFrom),
    validUntil: timestampFromDate(entry.validUntil),
    replacedAt: timestampFromDate(entry.replacedAt),
  });
}

export function memoryPatchFromProto(req: UpdateMemoryRequest): MemoryPatch {
  return {
    ...(req.content !== undefined ? { content: req.content } : {}),
    ...(req.importance !== undefined ? { importance: req.importance } : {}),
    ...(req.pinned !== undefined ? { pinned: req.pinned } : {}),
    ...(req.subject !== undefined ? { subject: req.subject } : {}),
    ...(req.replaceMetadata ? { metadata: { ...req.metadata } } : {}),
  };
}

export function importItemFromProto(item: ImportedMemory, index: number): ImportItem {
  const field = (name: string) => `memories[${index}].${name}`;
  return {
    type: memoryTypeFromProto(item.type, field("type")),
    content: item.content,
    importance: item.importance,
    metadata: { ...item.metadata },
    subject: item.subject,
    pinned: item.pinned,
    occurredAt: optionalDate(item.occurredAt, field("occurred_at")),
    createdAt: optionalDate(item.createdAt, field("created_at")),
    lastAccessedAt: optionalDate(item.lastAccessedAt, field("last_accessed_at")),
    accessCount: Number(item.accessCount),
  };
}

export function importResultToProto(outcome: ImportOutcome, index: number) {
  return create(ImportResultSchema, {
    index,
    outcome: rememberOutcomeToProto(outcome.written?.outcome ?? "dropped"),
    memoryId: outcome.written?.memory.id ?? "",
    supersededIds: [...(outcome.written?.supersededIds ?? [])],
    error: outcome.error,
    reason: outcome.decision.reason,
  });
}

export function exportItemToProto(item: ExportItem): ExportUserResponse["item"] {
  switch (item.kind) {
    case "memory":
      return {
        case: "memory",
        value: create(ExportedMemorySchema, {
          memory: memoryToProto(item.memory),
          history: item.history.map(historyEntryToProto),
        }),
      };
    case "task":
      return { case: "task", value: workingStateToProto(item.task) };
    case "session":
      return {
        case: "session",
        value: create(ExportedSessionSchema, {
          sessionId: item.sessionId,
          summary: summaryToProto(item.session.summary),
          messages: item.session.messages.map(messageToProto),
        }),
      };
  }
}
