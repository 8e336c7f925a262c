import { randomUUID } from "node:crypto";
import type { AccessTracker } from "./access-tracker.js";
import { BatchCandidates } from "./batch-candidates.js";
import { addsWords, inferSubject, resolveConflict, subjectGloss } from "./conflicts.js";
import { EngramError, ResourceExhaustedError, UnavailableError } from "./errors.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { limits } from "./limits.js";
import type { Embedder } from "./models.js";
import type { LongTermStore, MemoryHit, UserWriteLock } from "./ports.js";
import { timeSlicer } from "./time-slice.js";
import { withoutEmbedding, type Memory, type MemoryRecord, type MemoryVersion, type Scope } from "./types.js";

/** A memory that passed intake (redacted, gated), with its importance and time settled. */
export type GatedMemory = Pick<
  Memory,
  "type" | "content" | "importance" | "metadata" | "subject" | "pinned" | "occurredAt" | "source" | "speaker"
> & {
  /** As in a source system being imported; Engram's own writes leave these unset (now, never accessed). */
  readonly createdAt?: Date;
  readonly lastAccessedAt?: Date;
  readonly accessCount?: number;
};

export type WriteOutcome = "created" | "merged" | "updated" | "superseded_older" | "stored_as_history";

export interface WriteResult {
  readonly memory: Memory;
  readonly outcome: WriteOutcome;
  readonly supersededIds: readonly string[];
}

export interface SettlementOptions {
  /** New memories are refused (RESOURCE_EXHAUSTED) once a user holds this many; 0 for no limit. */
  readonly maxMemoriesPerUser: number;
  /** Serialises a user's writes across replicas that share the long-term store. */
  readonly userWriteLock?: UserWriteLock;
}

export interface SettlementEvents {
  superseded?(count: number): void;
}

/** Existing memories compared against a new one for duplicates and conflicts. */
const conflictCandidates = 10;
/** Conflict lookups in flight at once while settling a batch. */
const lookupConcurrency = 8;

/**
 * Writes memories that passed intake, settling conflicts with what the user
 * already holds (`resolveConflict`: by when things happened, not when Engram
 * heard of them). Every change to a stored memory keeps its previous version
 * in the memory's history.
 *
 * Settling is a read (what is stored) then a write that depends on it, so a
 * user's writes settle one at a time: two concurrent copies of one fact must
 * end as one memory, not two current versions. The embeddings, the slow
 * part, are computed before taking the user's turn; replicas sharing a
 * long-term store also take the user's shared write lock.
 *
 * A batch (an import, a session's extraction) settles in occurrence order
 * inside one turn: the conflict lookups against the store run concurrently
 * up front (the store cannot change during the turn), later items see
 * earlier ones through an in-memory overlay, and new memories are written
 * with one bulk insert.
 */
export class MemorySettlement {
  /** One settling write at a time per user, in this process. */
  private readonly settling = new KeyedMutex();

  constructor(
    private readonly store: LongTermStore,
    private readonly embedder: Embedder,
    private readonly access: AccessTracker,
    private readonly options: SettlementOptions,
    private readonly events: SettlementEvents = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async write(scope: Scope, input: GatedMemory, signal?: AbortSignal): Promise<WriteResult> {
    const [result] = await this.writeMany(scope, [input], signal);
    if (result instanceof Error) throw result;
    return result!;
  }

  /**
   * Settles a batch in occurrence order; one result per input, in input
   * order: what was written, or the domain error that refused that item.
   * The batch is embedded in one call (the embedder sends it in requests of
   * its size, e.g. ENGRAM_OPENAI_EMBEDDING_BATCH_SIZE).
   */
  async writeMany(
    scope: Scope,
    inputs: readonly GatedMemory[],
    signal?: AbortSignal,
  ): Promise<(WriteResult | EngramError)[]> {
    if (inputs.length === 0) return [];
    const items = inputs.map((input) => ({
      ...input,
      subject: input.subject || inferSubject(input.type, input.content),
    }));
    const embeddings = await this.embedder.embed(
      items.map((i) => embeddedText(i.content, i.subject, i.speaker)),
      signal,
    );
    return this.inUserTurn(
      scope,
      () => {
        signal?.throwIfAborted();
        return this.settle(
          scope,
          items.map((item, i) => ({ ...item, embedding: embeddings[i]! })),
          signal,
        );
      },
      signal,
    );
  }

  /**
   * Replaces a stored memory in the user's turn, keeping what it said
   * before in its history; `change` gets the stored record and returns the
   * new one (with its embedding). Undefined when there is no such memory.
   */
  async revise(
    scope: Scope,
    id: string,
    change: (stored: MemoryRecord) => MemoryRecord,
    signal?: AbortSignal,
  ): Promise<Memory | undefined> {
    return this.inUserTurn(
      scope,
      async () => {
        const stored = await this.store.get(scope, id);
        if (!stored) return undefined;
        const now = this.clock();
        const revised = withVersion({ ...change(stored), updatedAt: now }, stored, now, now);
        return (await this.store.update(revised)) ? withoutEmbedding(revised) : undefined;
      },
      signal,
    );
  }

  /** The text embedded for a memory: see embeddedText. */
  embed(content: string, subject: string, signal?: AbortSignal, speaker?: string): Promise<Float32Array> {
    return this.embedder.embed([embeddedText(content, subject, speaker)], signal).then(([e]) => e!);
  }

  /**
   * Erases the user's memories in the user's turn, so a write being settled
   * finishes before the erasure instead of landing after it.
   */
  forgetUser(scope: Scope): Promise<number> {
    return this.inUserTurn(scope, () => this.store.deleteUser(scope));
  }

  /** Runs `section` as the only long-term write of this user, in this replica and across replicas. */
  private inUserTurn<T>(scope: Scope, section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const lock = this.options.userWriteLock;
    // In-process order first, so a replica's own writers queue here instead of polling the shared lock.
    return this.settling.run(`${scope.namespace}\u0000${scope.userId}`, () =>
      lock ? lock.hold(scope, section, signal) : section(),
    );
  }

  private async settle(
    scope: Scope,
    items: readonly (GatedMemory & { readonly embedding: Float32Array })[],
    signal?: AbortSignal,
  ): Promise<(WriteResult | EngramError)[]> {
    const now = this.clock();
    // A batch may be 1,000 items of 8 KiB: its steps yield to other callers between slices of work.
    const pause = timeSlicer(signal);
    const lookups = await mapConcurrently(items, lookupConcurrency, async (item) => {
      await pause();
      return this.store.search(scope, {
        embedding: item.embedding,
        text: item.content,
        // Cosine similarity itself: duplicates are recognised by a fixed threshold.
        alpha: 1,
        types: [item.type],
        includeSuperseded: false,
        limit: conflictCandidates,
      });
    });
    let room =
      this.options.maxMemoriesPerUser > 0
        ? this.options.maxMemoriesPerUser - (await this.store.count(scope))
        : Number.POSITIVE_INFINITY;
    /** The batch's view of the user's memories: new ones (to insert) and changed stored ones (to update). */
    const created = new BatchCandidates(conflictCandidates);
    const changed = new Map<string, MemoryRecord>();
    const latest = (r: MemoryRecord) => created.get(r.id) ?? changed.get(r.id) ?? r;
    const put = (r: MemoryRecord) => (created.has(r.id) ? created.put(r) : changed.set(r.id, r));
    const results: (WriteResult | EngramError)[] = new Array(items.length);
    const order = items
      .map((_, i) => i)
      .sort((a, b) => items[a]!.occurredAt.getTime() - items[b]!.occurredAt.getTime());
    let superseded = 0;
    for (const index of order) {
      await pause();
      const item = items[index]!;
      const similar: MemoryHit[] = [
        ...lookups[index]!.filter((h) => !created.has(h.record.id)).map((h) => ({ ...h, record: latest(h.record) })),
        // The batch's own memories through an index: comparing with every one of them was quadratic.
        ...created.candidates(item),
      ].sort((a, b) => b.relevance - a.relevance);
      const resolution = resolveConflict(item, similar);
      if (resolution.kind === "merge") {
        const target = resolution.target;
        const newer = item.occurredAt > target.occurredAt;
        const merged = withVersion(
          {
            ...target,
            ...(resolution.takeIncomingContent
              ? {
                  content: item.content,
                  embedding: item.embedding,
                  metadata: { ...target.metadata, ...item.metadata },
                  // The content is the newer one now, and so is where it came from.
                  source: item.source,
                  speaker: item.speaker,
                }
              : {}),
            importance: Math.max(target.importance, item.importance),
            pinned: target.pinned || item.pinned,
            occurredAt: newer ? item.occurredAt : target.occurredAt,
            updatedAt: now,
          },
          target,
          now,
          newer ? item.occurredAt : now,
        );
        // An older near-duplicate that says something else is an earlier version of this memory.
        put(
          !newer && !resolution.takeIncomingContent && addsWords(item.content, target.content)
            ? withEarlierVersion(merged, item, now)
            : merged,
        );
        // Being told again is a use: counted like a recall, through the atomic access path.
        if (!created.has(target.id)) this.access.record(scope, [target.id], now);
        results[index] = { memory: withoutEmbedding(merged), outcome: "merged", supersededIds: [] };
        continue;
      }
      if (resolution.kind === "update") {
        const target = resolution.target;
        const updated = withVersion(
          {
            ...target,
            content: item.content,
            embedding: item.embedding,
            importance: item.importance,
            metadata: item.metadata,
            pinned: item.pinned,
            occurredAt: item.occurredAt,
            // The content is the newer one now, and so is where it came from.
            source: item.source,
            speaker: item.speaker,
            updatedAt: now,
          },
          target,
          now,
          item.occurredAt,
        );
        put(updated);
        results[index] = { memory: withoutEmbedding(updated), outcome: "updated", supersededIds: [] };
        continue;
      }
      if (room <= 0) {
        results[index] = new ResourceExhaustedError(
          `user "${scope.userId}" holds ${this.options.maxMemoriesPerUser} memories, the limit; forget some or let eviction run`,
        );
        continue;
      }
      room--;
      const record: MemoryRecord = {
        id: randomUUID(),
        scope,
        type: item.type,
        content: item.content,
        importance: item.importance,
        metadata: item.metadata,
        subject: item.subject,
        pinned: item.pinned,
        occurredAt: item.occurredAt,
        createdAt: item.createdAt ?? now,
        updatedAt: now,
        lastAccessedAt: item.lastAccessedAt,
        accessCount: item.accessCount ?? 0,
        // Older than a current memory of its subject: history from the start, valid until that one began.
        supersededBy: resolution.kind === "superseded" ? resolution.successor.id : undefined,
        validUntil: resolution.kind === "superseded" ? resolution.successor.occurredAt : undefined,
        source: item.source,
        ...(item.speaker ? { speaker: item.speaker } : {}),
        embedding: item.embedding,
        history: [],
      };
      created.put(record);
      if (resolution.kind !== "supersede") {
        const outcome = resolution.kind === "superseded" ? "stored_as_history" : "created";
        results[index] = { memory: withoutEmbedding(record), outcome, supersededIds: [] };
        continue;
      }
      // Recency wins: the new memory replaces older ones of the same subject, which stay as history.
      for (const target of resolution.targets) {
        put({ ...target, supersededBy: record.id, validUntil: item.occurredAt, updatedAt: now });
      }
      superseded += resolution.targets.length;
      results[index] = {
        memory: withoutEmbedding(record),
        outcome: resolution.targets.length > 0 ? "superseded_older" : "created",
        supersededIds: resolution.targets.map((t) => t.id),
      };
    }
    const { failed } = await this.store.insertMany([...created.values()]);
    if (failed.length > 0) {
      // Rare (a backend refusing one object): those items fail, and nothing may point at them.
      const failedIds = new Set(failed.map((f) => f.id));
      for (const [i, result] of results.entries()) {
        if (!(result instanceof Error) && failedIds.has(result.memory.id) && result.outcome !== "merged") {
          results[i] = new UnavailableError("long-term store", failed.find((f) => f.id === result.memory.id)!.error);
        }
      }
      for (const [id, record] of changed)
        if (record.supersededBy && failedIds.has(record.supersededBy)) changed.delete(id);
    }
    for (const record of changed.values()) await this.store.update(record);
    if (superseded > 0) this.events.superseded?.(superseded);
    return results;
  }
}

/**
 * The text a memory is embedded (and so found) by: who said it, what was
 * said, and for an inferred subject the words that describe it, so "what
 * did Maya say about Porto" and "a script" (for "I switched to Go") both
 * reach it.
 */
function embeddedText(content: string, subject: string, speaker?: string): string {
  const said = speaker ? `${speaker}: ${content}` : content;
  return subject ? `${said}\n${subjectGloss(subject)}` : said;
}

/**
 * `next` with `previous`'s content and policy fields appended to its
 * history (oldest dropped beyond the limit), when any of them changed.
 */
export function withVersion(
  next: MemoryRecord,
  previous: MemoryRecord,
  replacedAt: Date,
  validUntil: Date,
): MemoryRecord {
  const same =
    next.content === previous.content &&
    next.importance === previous.importance &&
    next.subject === previous.subject &&
    JSON.stringify(next.metadata) === JSON.stringify(previous.metadata);
  if (same) return next;
  const version: MemoryVersion = {
    content: previous.content,
    importance: previous.importance,
    subject: previous.subject,
    metadata: previous.metadata,
    validFrom: previous.occurredAt,
    validUntil: validUntil < previous.occurredAt ? previous.occurredAt : validUntil,
    replacedAt,
  };
  return { ...next, history: [...(previous.history ?? []), version].slice(-limits.memoryVersionsKept) };
}

/** `record` with an older account of it (`earlier`) placed in its history by when it was true. */
function withEarlierVersion(record: MemoryRecord, earlier: GatedMemory, replacedAt: Date): MemoryRecord {
  const version: MemoryVersion = {
    content: earlier.content,
    importance: earlier.importance,
    subject: earlier.subject,
    metadata: earlier.metadata,
    validFrom: earlier.occurredAt,
    validUntil: record.occurredAt,
    replacedAt,
  };
  const history = [...(record.history ?? []), version].sort((a, b) => a.validFrom.getTime() - b.validFrom.getTime());
  return { ...record, history: history.slice(-limits.memoryVersionsKept) };
}

async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
