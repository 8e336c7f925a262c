import { randomUUID } from "node:crypto";
import type { AccessTracker } from "./access-tracker.js";
import { inferSubject, resolveConflict, subjectGloss } from "./conflicts.js";
import { ResourceExhaustedError } from "./errors.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { Embedder } from "./models.js";
import type { LongTermStore, UserWriteLock } from "./ports.js";
import { withoutEmbedding, type Memory, type MemoryRecord, type Scope } from "./types.js";

/** A memory that passed intake (redacted, gated), with its importance and time settled. */
export type GatedMemory = Pick<
  Memory,
  "type" | "content" | "importance" | "metadata" | "subject" | "pinned" | "occurredAt" | "source"
>;

export type WriteOutcome = "created" | "merged" | "updated" | "superseded_older";

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

/**
 * Writes memories that passed intake, settling conflicts with what the user
 * already holds: a near-duplicate refreshes the existing memory, a fact with
 * a known subject is updated in place, and a newer preference or decision
 * supersedes older ones.
 *
 * Settling is a read (what is stored) then a write that depends on it, so a
 * user's writes settle one at a time: two concurrent copies of one fact must
 * end as one memory, not two current versions. The embedding, the slow part,
 * is computed before taking the user's turn; replicas sharing a long-term
 * store also take the user's shared write lock.
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
    const [written] = await this.writeMany(scope, [input], signal);
    return written!;
  }

  /**
   * Writes several memories in order, embedding them all in one call first
   * (the embedder sends them in batches of its size, e.g.
   * ENGRAM_OPENAI_EMBEDDING_BATCH_SIZE, instead of one request per memory);
   * each then settles in the user's turn as `write` does.
   */
  async writeMany(scope: Scope, inputs: readonly GatedMemory[], signal?: AbortSignal): Promise<WriteResult[]> {
    if (inputs.length === 0) return [];
    const subjects = inputs.map((input) => input.subject || inferSubject(input.type, input.content));
    const embeddings = await this.embedder.embed(
      inputs.map((input, i) => (subjects[i] ? `${input.content}\n${subjectGloss(subjects[i])}` : input.content)),
      signal,
    );
    const results: WriteResult[] = [];
    for (const [i, input] of inputs.entries()) {
      results.push(
        await this.inUserTurn(
          scope,
          () => {
            signal?.throwIfAborted();
            return this.settle(scope, { ...input, subject: subjects[i]! }, embeddings[i]!);
          },
          signal,
        ),
      );
    }
    return results;
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

  private async settle(scope: Scope, input: GatedMemory, embedding: Float32Array): Promise<WriteResult> {
    const now = this.clock();
    const similar = await this.store.search(scope, {
      embedding,
      text: input.content,
      // Cosine similarity itself: duplicates are recognised by a fixed threshold.
      alpha: 1,
      types: [input.type],
      includeSuperseded: false,
      limit: conflictCandidates,
    });
    const resolution = resolveConflict({ type: input.type, subject: input.subject }, similar);
    if (resolution.kind === "merge") {
      const target = resolution.target;
      const merged: MemoryRecord = {
        ...target,
        importance: Math.max(target.importance, input.importance),
        pinned: target.pinned || input.pinned,
        occurredAt: input.occurredAt > target.occurredAt ? input.occurredAt : target.occurredAt,
        updatedAt: now,
      };
      await this.store.update(merged);
      // Being told again is a use: counted like a recall, through the atomic access path.
      this.access.record(scope, [target.id], now);
      return { memory: withoutEmbedding(merged), outcome: "merged", supersededIds: [] };
    }
    if (resolution.kind === "update") {
      const updated: MemoryRecord = {
        ...resolution.target,
        content: input.content,
        embedding,
        importance: input.importance,
        metadata: input.metadata,
        pinned: input.pinned,
        occurredAt: input.occurredAt,
        // The content is the newer one now, and so is where it came from.
        source: input.source,
        updatedAt: now,
      };
      await this.store.update(updated);
      return { memory: withoutEmbedding(updated), outcome: "updated", supersededIds: [] };
    }
    if (this.options.maxMemoriesPerUser > 0 && (await this.store.count(scope)) >= this.options.maxMemoriesPerUser) {
      throw new ResourceExhaustedError(
        `user "${scope.userId}" holds ${this.options.maxMemoriesPerUser} memories, the limit; forget some or let eviction run`,
      );
    }
    const record: MemoryRecord = {
      id: randomUUID(),
      scope,
      type: input.type,
      content: input.content,
      importance: input.importance,
      metadata: input.metadata,
      subject: input.subject,
      pinned: input.pinned,
      occurredAt: input.occurredAt,
      createdAt: now,
      updatedAt: now,
      lastAccessedAt: undefined,
      accessCount: 0,
      supersededBy: undefined,
      validUntil: undefined,
      source: input.source,
      embedding,
    };
    await this.store.insert(record);
    if (resolution.kind === "create")
      return { memory: withoutEmbedding(record), outcome: "created", supersededIds: [] };
    // Recency wins: the new memory replaces older ones of the same subject, which stay as history.
    const older = resolution.targets.filter((t) => t.occurredAt.getTime() <= input.occurredAt.getTime());
    for (const target of older) {
      await this.store.update({ ...target, supersededBy: record.id, validUntil: now, updatedAt: now });
    }
    this.events.superseded?.(older.length);
    return {
      memory: withoutEmbedding(record),
      outcome: older.length > 0 ? "superseded_older" : "created",
      supersededIds: older.map((t) => t.id),
    };
  }
}
