import { randomUUID } from "node:crypto";
import type { MemoryRecord, MemoryType, NewMessage, Scope } from "../../src/domain/types.js";
import { countTokens } from "../../src/domain/tokenizer.js";
import { LocalEmbedder } from "../../src/models/local-embedder.js";

export const dimensions = 64;
export const embedder = new LocalEmbedder(dimensions);

/** A scope no other test uses. */
export function freshScope(namespace = "test"): Scope {
  return { namespace, userId: `user-${randomUUID()}` };
}

export function newMessage(content: string, role: NewMessage["role"] = "user"): NewMessage {
  const now = new Date();
  return {
    id: randomUUID(),
    role,
    content,
    metadata: {},
    tokenCount: countTokens(content),
    createdAt: now,
    occurredAt: now,
  };
}

export function memoryRecord(scope: Scope, content: string, overrides: Partial<MemoryRecord> = {}): MemoryRecord {
  const now = new Date();
  return {
    id: randomUUID(),
    scope,
    type: "semantic" as MemoryType,
    content,
    importance: 0.5,
    metadata: {},
    subject: "",
    pinned: false,
    occurredAt: now,
    createdAt: now,
    updatedAt: now,
    lastAccessedAt: undefined,
    accessCount: 0,
    supersededBy: undefined,
    validUntil: undefined,
    source: { kind: "remember", sessionId: "", messageIds: [], caller: "test" },
    embedding: embedder.embedOne(content),
    history: [],
    ...overrides,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
