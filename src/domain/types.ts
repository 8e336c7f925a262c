/**
 * The memory domain's own types. They mirror the contract but carry no
 * protobuf: the domain imports neither generated code nor backend clients.
 */
export interface Scope {
  readonly namespace: string;
  readonly userId: string;
}

export type Role = "user" | "assistant" | "system" | "tool";

export type Metadata = Readonly<Record<string, string>>;

export interface MessageInput {
  readonly role: Role;
  readonly content: string;
  readonly metadata: Metadata;
  /** When it was said, if not now (an imported conversation). */
  readonly occurredAt?: Date | undefined;
  /** Who said it (e.g. "Maya"), when the caller names speakers; "" or absent otherwise. */
  readonly name?: string | undefined;
}

/** A message ready to store: id, token count and times decided by the domain. */
export interface NewMessage extends MessageInput {
  readonly id: string;
  readonly tokenCount: number;
  readonly createdAt: Date;
  /** When it was said: the caller's occurredAt, else createdAt. */
  readonly occurredAt: Date;
}

export interface StoredMessage extends NewMessage {
  /** 1-based position in the session, assigned atomically by the store. */
  readonly sequence: number;
}

export interface SessionSummary {
  readonly content: string;
  readonly tokenCount: number;
  readonly summarizedThroughSequence: number;
  readonly summarizedMessageCount: number;
}

export interface SessionSnapshot {
  readonly summary: SessionSummary | undefined;
  /** Every message up to this sequence has been learnt from (0: none). */
  readonly extractedThroughSequence: number;
  /** Verbatim messages, oldest first. */
  readonly messages: readonly StoredMessage[];
  /** Summary tokens plus every verbatim message's tokens. */
  readonly tokenCount: number;
}

export interface WorkingState {
  readonly taskId: string;
  readonly entries: Readonly<Record<string, string>>;
  readonly updatedAt: Date;
  readonly expiresAt: Date;
}

export type MemoryType = "episodic" | "semantic" | "preference";

/**
 * Where a memory came from. "unknown" marks memories stored before Engram
 * kept provenance.
 */
export interface MemorySource {
  readonly kind: "remember" | "session" | "import" | "unknown";
  /** The session it was extracted from (kind "session"). */
  readonly sessionId: string;
  /** The messages it was extracted from, oldest first (kind "session"). */
  readonly messageIds: readonly string[];
  /** The caller's name (kinds "remember" and "import"). */
  readonly caller: string;
}

export const unknownSource: MemorySource = { kind: "unknown", sessionId: "", messageIds: [], caller: "" };

export interface Memory {
  readonly id: string;
  readonly scope: Scope;
  readonly type: MemoryType;
  readonly content: string;
  readonly importance: number;
  readonly metadata: Metadata;
  readonly subject: string;
  readonly pinned: boolean;
  readonly occurredAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastAccessedAt: Date | undefined;
  readonly accessCount: number;
  readonly supersededBy: string | undefined;
  readonly validUntil: Date | undefined;
  readonly source: MemorySource;
  /** Earlier versions of this memory, oldest first (at most `limits.memoryVersionsKept`); absent or empty when never changed. */
  readonly history?: readonly MemoryVersion[];
  /** Who said what it was learnt from (a message's name); absent or "" when unknown. */
  readonly speaker?: string | undefined;
}

/**
 * What a memory said before an update replaced it: its content and policy
 * fields, and the interval it was valid in.
 */
export interface MemoryVersion {
  readonly content: string;
  readonly importance: number;
  readonly subject: string;
  readonly metadata: Metadata;
  /** When it became true (the memory's occurredAt then). */
  readonly validFrom: Date;
  /** When it stopped being true: the replacing version's occurrence, or the correction's time. */
  readonly validUntil: Date;
  /** When Engram replaced it. */
  readonly replacedAt: Date;
}

/** A memory as stored: with the embedding of its content. */
export interface MemoryRecord extends Memory {
  readonly embedding: Float32Array;
}

export interface ScoredMemory {
  readonly memory: Memory;
  readonly score: number;
  readonly relevance: number;
}

export interface EvictionPolicy {
  /** Forget when importance × recency is below this (0..1). */
  readonly scoreThreshold: number;
  /** Recency halves every this many hours since last access (or creation). */
  readonly halfLifeHours: number;
  /** Never forget anything younger than this. */
  readonly minAgeHours: number;
  /** Forget anything unpinned older than this, whatever its score (a TTL); 0 for none. */
  readonly maxAgeHours: number;
  /** Keep at most this many memories per user, forgetting the lowest-scoring beyond it; 0 for no budget. */
  readonly maxMemoriesPerUser: number;
  /** Memories never to forget, besides those marked pinned. */
  readonly pinnedIds?: ReadonlySet<string>;
}

export interface EvictionReport {
  readonly scanned: number;
  readonly evicted: number;
  /** The first `limits.evictedIdsReported` evicted ids. */
  readonly evictedIds: readonly string[];
  readonly dryRun: boolean;
}

export type SectionKind = "long_term_memories" | "task_state" | "documents" | "conversation_history";

export interface ContextDocument {
  readonly id: string;
  readonly content: string;
  readonly source: string;
  readonly score: number;
}

export interface ContextItem {
  readonly id: string;
  readonly content: string;
  readonly tokenCount: number;
  /** For a conversation turn: who spoke it and its text, for rendering it as a chat message. */
  readonly turn?: { readonly role: Role; readonly content: string };
}

/** How an assembled context comes back: sections of items, or chat messages ready to send. */
export type ContextFormat = "items" | "messages";

/** A rendered message; tool output is rendered as an assistant turn, which needs no tool-call id. */
export interface ChatMessage {
  readonly role: Exclude<Role, "tool">;
  readonly content: string;
}

export interface RenderedContext {
  readonly messages: readonly ChatMessage[];
  /** Tokens of every message's content, template text included. */
  readonly tokenCount: number;
}

export interface ContextSection {
  readonly kind: SectionKind;
  readonly items: readonly ContextItem[];
  readonly tokenCount: number;
}

export interface OmittedItem {
  readonly section: SectionKind;
  readonly id: string;
  readonly tokenCount: number;
}

export interface AssemblySummary {
  readonly totalTokens: number;
  readonly tokenBudget: number;
  readonly omitted: readonly OmittedItem[];
  /** Names the long-term memories placed, in rank order, for ReportUsage; "" when none was placed. */
  readonly retrievalId: string;
}

/** A stored memory as callers see it: without its embedding. */
export function withoutEmbedding(record: MemoryRecord): Memory {
  const { embedding: _embedding, ...memory } = record;
  return memory;
}
