import type { RetrievalLog } from "./retrieval-log.js";
import type { EvictionBand, EvictionCandidate } from "./forgetting.js";
import type { MemoryRecord, MemoryType, Metadata, NewMessage, Scope, SessionSnapshot, WorkingState } from "./types.js";

/**
 * The storage ports of the memory domain. Each backend (embedded SQLite,
 * Redis, Weaviate) implements the ones it serves and passes the same
 * contract suite (`test/contract/`). Every write is atomic in the backend
 * itself: no read-modify-write across round trips. A backend that cannot be
 * reached throws `UnavailableError`.
 */

/** AppendMessages.idempotency_key, with the fingerprint of what that append asked for. */
export interface AppendKey {
  readonly key: string;
  readonly fingerprint: string;
}

export interface AppendResult {
  /** Sequence numbers given to the appended messages, in order. */
  readonly sequences: readonly number[];
  /** Their ids: the ones given, or on a replay those of the first append with the key. */
  readonly messageIds: readonly string[];
  /** The append key had been seen in this session: nothing was appended. */
  readonly replayed: boolean;
  /**
   * On a replay, the fingerprint stored with the key's first append; ""
   * for a key stored before fingerprints were kept.
   */
  readonly replayedFingerprint?: string;
  /** Session tokens after the append (summary + verbatim messages). */
  readonly tokenCount: number;
  readonly messageCount: number;
}

export interface CompactionCommit {
  /**
   * The summary's `summarizedThroughSequence` the plan was made from (0 for
   * none). The commit applies only if the session still has exactly that,
   * so two compactions of one snapshot cannot both apply.
   */
  readonly expectedSummarizedThrough: number;
  /** Fold every message up to and including this sequence. */
  readonly throughSequence: number;
  /**
   * Ids of the first and last folded messages. Ids are unique, so these pin
   * the plan to this incarnation of the session: if it was ended and begun
   * again meanwhile, the commit is refused.
   */
  readonly firstFoldedId: string;
  readonly lastFoldedId: string;
  readonly summary: string;
  readonly summaryTokenCount: number;
}

export type CompactionOutcome = "committed" | "conflict";

export interface SessionStore {
  /**
   * Appends in order and renews the session's TTL, atomically. With an
   * `appendKey` this session has seen before, appends nothing and answers
   * with that append's sequences, ids and fingerprint (keys live as long as
   * the session); the domain decides what a different fingerprint means.
   */
  append(
    scope: Scope,
    sessionId: string,
    messages: readonly NewMessage[],
    ttlSeconds: number,
    appendKey?: AppendKey,
  ): Promise<AppendResult>;
  /** The session, or undefined if it does not exist or expired. */
  read(scope: Scope, sessionId: string): Promise<SessionSnapshot | undefined>;
  /** Replaces exactly the summarised prefix with the summary, if unchanged. */
  commitCompaction(scope: Scope, sessionId: string, commit: CompactionCommit): Promise<CompactionOutcome>;
  /** Deletes the session; its verbatim message count, or undefined if absent. */
  delete(scope: Scope, sessionId: string): Promise<number | undefined>;
  /** Deletes every session of the user; how many there were. */
  deleteUser(scope: Scope): Promise<number>;
  /** Ids of the user's sessions (some may expire before they are read). */
  sessionIds(scope: Scope): Promise<string[]>;
  /**
   * Moves the session's extraction watermark (every message up to `through`
   * has been learnt from) if it is still `expectedThrough`: two extractions
   * of one batch cannot both commit. "conflict" if it moved or the session is gone.
   */
  commitExtraction(
    scope: Scope,
    sessionId: string,
    expectedThrough: number,
    through: number,
  ): Promise<CompactionOutcome>;
  /**
   * Live sessions whose last append is older than `activeBefore` and that
   * hold messages past their extraction watermark, at most `limit`.
   */
  idleSessions(activeBefore: Date, limit: number): Promise<SessionRef[]>;
}

/** One session of one user. */
export interface SessionRef {
  readonly scope: Scope;
  readonly sessionId: string;
}

/** Why a session needs learning work. */
export type LearningReason = "compaction" | "idle";

export interface LearningJob extends SessionRef {
  readonly reason: LearningReason;
  readonly enqueuedAt: Date;
}

export interface ClaimedJob extends LearningJob {
  /** Identifies this delivery for `ack`. */
  readonly receipt: string;
}

/**
 * The durable queue of background learning work (compaction, extraction).
 * A claimed job not acknowledged within its lease (its worker died or
 * failed) is delivered again, to any replica.
 */
export interface LearningQueue {
  enqueue(job: LearningJob): Promise<void>;
  /**
   * Up to `limit` jobs nobody holds, each held for `leaseMs` (every
   * claimant passes the same lease: Redis applies it when reclaiming).
   */
  claim(limit: number, leaseMs: number): Promise<ClaimedJob[]>;
  /** The job is done: it is never delivered again. */
  ack(job: ClaimedJob): Promise<void>;
  /** Jobs waiting or in progress. */
  depth(): Promise<number>;
  /** Forgets claims held by this process's previous life (one-process stores; a no-op where leases expire). */
  releaseStaleClaims?(): Promise<void>;
}

/**
 * One learner per session at a time, across replicas: extraction reads the
 * watermark, learns, then moves it, so two must not interleave.
 */
export interface SessionLease {
  /** Runs `section` holding the session's lease; UnavailableError if it cannot be had in time. */
  hold<T>(ref: SessionRef, section: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export interface WorkingStore {
  /**
   * Writes entries (other entries stay) and sets the task's TTL, atomically.
   * Throws ResourceExhaustedError past `maxEntries` entries in the task.
   */
  set(
    scope: Scope,
    taskId: string,
    entries: Readonly<Record<string, string>>,
    ttlSeconds: number,
    maxEntries: number,
  ): Promise<WorkingState>;
  get(scope: Scope, taskId: string): Promise<WorkingState | undefined>;
  /** Live tasks, most recently updated first. */
  list(scope: Scope): Promise<WorkingState[]>;
  /** Deletes the task's state; how many entries it had, or undefined if absent. */
  delete(scope: Scope, taskId: string): Promise<number | undefined>;
  deleteUser(scope: Scope): Promise<number>;
}

/**
 * Which of a user's memories a listing or a search considers; every field
 * set must hold (an unset one does not filter). Backends apply it inside
 * their own query.
 */
export interface MemoryFilter {
  /** Empty means every type. */
  readonly types?: readonly MemoryType[];
  readonly subject?: string;
  readonly pinned?: boolean;
  /** True: only superseded memories; false: only current ones. */
  readonly superseded?: boolean;
  /** Only memories superseded by this memory id (a memory's history). */
  readonly supersededBy?: string;
  /** Only memories learnt from this session (source.sessionId). */
  readonly sourceSessionId?: string;
  /** Every pair must be in the memory's metadata. */
  readonly metadata?: Metadata;
  /** occurredFrom <= occurredAt < occurredBefore. */
  readonly occurredFrom?: Date;
  readonly occurredBefore?: Date;
  /** createdFrom <= createdAt < createdBefore. */
  readonly createdFrom?: Date;
  readonly createdBefore?: Date;
}

/** A position in the stable listing order (createdAt, then id). */
export interface ListCursor {
  readonly createdAt: Date;
  readonly id: string;
}

export interface MemorySearch {
  readonly embedding: Float32Array;
  /** The query text, for lexical (BM25) matching. */
  readonly text: string;
  /**
   * Weight of vector similarity against BM25 in the relevance, 0..1 (see
   * domain/hybrid-fusion.ts). 1 is vector search alone, and relevance is then
   * the cosine similarity itself (settlement compares it with fixed
   * thresholds); below 1, the vector and lexical candidates are fused by
   * relative score.
   */
  readonly alpha: number;
  /** Empty means every type. */
  readonly types: readonly MemoryType[];
  readonly includeSuperseded: boolean;
  /**
   * False when the caller does not need the hits' embeddings (recall): a
   * backend may then leave them out of the reply, and the records carry an
   * empty embedding. Absent or true returns them (settlement rewrites records).
   */
  readonly withEmbeddings?: boolean;
  /** Only memories of these speakers (Memory.speaker, exact); absent or empty means every memory. */
  readonly speakers?: readonly string[];
  /**
   * Candidates to return, best relevance first. Only memories that match
   * the query are candidates: a positive cosine similarity, or (below
   * alpha 1) a word in common; an unrelated query finds nothing.
   */
  readonly limit: number;
  /** Further conditions, applied inside the backend's query. */
  readonly filter?: MemoryFilter;
}

export interface MemoryHit {
  readonly record: MemoryRecord;
  /** Query relevance, 0..1: cosine similarity, or the fused score when `alpha` < 1. */
  readonly relevance: number;
}

/**
 * What recall asks a store for: the raw candidates of each signal, unfused.
 * The domain fuses and ranks them (domain/recall-ranking.ts), so every
 * backend ranks the same way; a store only finds.
 */
export interface CandidateSearch {
  /**
   * The query's vector, or its promise: a store may start what does not
   * need it (the embedded full-text match) while the model computes it.
   */
  readonly embedding: Float32Array | Promise<Float32Array>;
  /**
   * Lexical terms, already lower-cased and without stop words
   * (domain/recall-query.ts): a memory containing any of them is a lexical
   * candidate, scored by BM25. Empty means no lexical candidates.
   */
  readonly terms: readonly string[];
  /** Empty means every type. */
  readonly types: readonly MemoryType[];
  readonly includeSuperseded: boolean;
  /** Only memories of these speakers (Memory.speaker, exact); absent or empty means every memory. */
  readonly speakers?: readonly string[];
  /** Candidates of each signal, at most. */
  readonly limit: number;
  /** Further conditions, applied inside the backend's query. */
  readonly filter?: MemoryFilter;
}

export interface CandidateHit {
  /** The memory, without its embedding (an empty one). */
  readonly record: MemoryRecord;
  /** The signal's raw score: cosine similarity (> 0), or BM25 (> 0, no fixed scale). */
  readonly score: number;
}

export interface RecallCandidates {
  /** The nearest memories by cosine similarity, best first; only positive similarities. */
  readonly vector: readonly CandidateHit[];
  /** The best BM25 matches of the terms over the memories' content, best first. */
  readonly lexical: readonly CandidateHit[];
}

export interface BulkInsertResult {
  /** The records that were not written, each with its reason; the rest were. */
  readonly failed: readonly { readonly id: string; readonly error: string }[];
}

export interface LongTermStore {
  /** The embedding length this store holds; checked against the embedder. */
  readonly dimensions: number;
  /** The identity key (`identityKey`) of the embedder whose vectors the store holds, if recorded. */
  embedderIdentity(): Promise<string | undefined>;
  /** Records that every vector now comes from this embedder (`engram reembed`, once done). */
  recordEmbedderIdentity(identity: string): Promise<void>;
  insert(record: MemoryRecord): Promise<void>;
  /** Writes many records in chunks; a partial failure is reported per record. */
  insertMany(records: readonly MemoryRecord[]): Promise<BulkInsertResult>;
  get(scope: Scope, id: string): Promise<MemoryRecord | undefined>;
  /** How many memories the user holds (superseded ones included). */
  count(scope: Scope): Promise<number>;
  /**
   * Replaces a stored memory's content, policy fields and history (same
   * scope and id), in one write; false if it does not exist. Access statistics are not written: only
   * recordAccess moves them, so an update never undoes a concurrent bump.
   */
  update(record: MemoryRecord): Promise<boolean>;
  search(scope: Scope, search: MemorySearch): Promise<MemoryHit[]>;
  /** Recall's candidates, each signal's own list with its raw scores (see CandidateSearch). */
  candidates(scope: Scope, search: CandidateSearch): Promise<RecallCandidates>;
  /**
   * The user's memories matching the filter in a stable order (createdAt,
   * then id, both immutable), strictly after `after`, at most `limit`.
   * Keyset paging: memories added meanwhile never shift a page, so paging
   * through sees every memory that existed throughout exactly once.
   */
  list(scope: Scope, filter: MemoryFilter, after: ListCursor | undefined, limit: number): Promise<MemoryRecord[]>;
  /**
   * Adds each count to its memory's access count and moves last access to
   * `at`; ids no longer stored are skipped. If it throws, nothing was
   * applied, or it throws AccessWriteIncomplete (domain/pending-access.ts)
   * naming what was not.
   */
  recordAccess(scope: Scope, counts: ReadonlyMap<string, number>, at: Date): Promise<void>;
  delete(scope: Scope, id: string): Promise<boolean>;
  deleteUser(scope: Scope): Promise<number>;
  /** Users that hold memories, in a namespace or everywhere, in batches. */
  users(namespace: string | undefined): AsyncIterable<Scope>;
  /** A user's memories as eviction candidates, in batches of at most `batchSize`. */
  evictionCandidates(scope: Scope, batchSize: number): AsyncIterable<EvictionCandidate[]>;
  /** Deletes these memories of the user; how many existed. */
  deleteMany(scope: Scope, ids: readonly string[]): Promise<number>;
  /**
   * Deletes, in bulk and without loading them, the user's unpinned, never
   * accessed memories inside the band: how many, and the ids of those the
   * backend reports (possibly none: Weaviate's bulk delete reports counts).
   */
  deleteBand(scope: Scope, band: EvictionBand): Promise<{ deleted: number; ids: string[] }>;
}

/**
 * Serialises one user's long-term writes across replicas. Settling a write
 * reads what is stored and then writes depending on it (merge, update in
 * place, supersede), so two replicas must not settle the same user at once.
 * A backend shared by replicas provides it; one process needs none.
 */
export interface UserWriteLock {
  /** Runs `section` holding the user's lock; UnavailableError if it cannot be had in time. */
  hold<T>(scope: Scope, section: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** A backend's health, for the gRPC health service and readiness probes. */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<boolean>;
}

export interface Stores {
  readonly sessions: SessionStore;
  readonly working: WorkingStore;
  readonly longTerm: LongTermStore;
  /** Which backend serves each tier, e.g. "redis", "weaviate", "embedded" (metric labels). */
  readonly backends: { readonly sessions: string; readonly working: string; readonly longTerm: string };
  readonly health: readonly HealthCheck[];
  /** Shared by replicas when a shared backend (Redis) is configured; absent on the embedded store alone. */
  readonly userWriteLock?: UserWriteLock;
  /** Background learning work, kept beside the sessions it is about. */
  readonly learningQueue: LearningQueue;
  /** Shared by replicas (Redis); absent on the embedded store, where one process serialises itself. */
  readonly sessionLease?: SessionLease;
  /** Retrievals kept for ReportUsage, shared by replicas (Redis); absent means one in this process. */
  readonly retrievalLog?: RetrievalLog;
  /**
   * Items held per tier, where the backends can count them cheaply (the
   * embedded store can; Redis and Weaviate would need a scan, so they don't).
   */
  sizes?(): Promise<Partial<Record<"sessions" | "working" | "long_term", number>>>;
  close(): Promise<void>;
}
