import type { Attributes } from "@opentelemetry/api";

/**
 * OpenTelemetry GenAI semantic conventions for memory operations, beside
 * Engram's own `engram.*` attributes on each RPC's server span. The
 * conventions (github.com/open-telemetry/semantic-conventions-genai, status
 * Development) name memory spans by `gen_ai.operation.name` (search_memory,
 * create_memory, update_memory, upsert_memory, delete_memory) with
 * `gen_ai.memory.store.id`, `gen_ai.memory.record.id` and
 * `gen_ai.memory.record.count`; query text and records are opt-in there and
 * never recorded here (ids and counts, never content). Being in
 * development, the names may change: docs/quality-monitoring.md says so.
 */
const operations: Readonly<Record<string, string>> = {
  Recall: "search_memory",
  // Remember may create, merge into or supersede a memory: the caller does not choose which.
  Remember: "upsert_memory",
  ImportMemories: "upsert_memory",
  UpdateMemory: "update_memory",
  ForgetMemory: "delete_memory",
  // No record id: every record of the store (the user's memories) goes.
  ForgetUser: "delete_memory",
};

/** What a MemoryService request says in GenAI terms; empty for RPCs the conventions do not cover. */
export function genAiRequestAttributes(method: string, message: unknown): Attributes {
  const operation = operations[method];
  if (operation === undefined) return {};
  const m = message as { scope?: { namespace?: string; userId?: string }; memoryId?: string };
  const attributes: Attributes = { "gen_ai.operation.name": operation, "gen_ai.provider.name": "engram" };
  // A user's long-term memories are one store.
  if (m.scope?.namespace && m.scope.userId) {
    attributes["gen_ai.memory.store.id"] = `${m.scope.namespace}/${m.scope.userId}`;
  }
  if (m.memoryId) attributes["gen_ai.memory.record.id"] = m.memoryId;
  return attributes;
}

/** Records returned or affected, from the response. */
export function genAiResponseAttributes(method: string, message: unknown): Attributes {
  const m = message as { memories?: unknown[]; results?: unknown[]; memoriesDeleted?: number; memory?: unknown };
  switch (method) {
    case "Recall":
      return { "gen_ai.memory.record.count": m.memories?.length ?? 0 };
    case "ImportMemories":
      return { "gen_ai.memory.record.count": m.results?.length ?? 0 };
    case "ForgetUser":
      return { "gen_ai.memory.record.count": m.memoriesDeleted ?? 0 };
    case "Remember": {
      const id = (m.memory as { id?: string } | undefined)?.id;
      return id ? { "gen_ai.memory.record.id": id, "gen_ai.memory.record.count": 1 } : {};
    }
    default:
      return {};
  }
}
