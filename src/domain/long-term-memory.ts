import { randomUUID } from "node:crypto";
import type { LongTermStore, UserWriteLock } from "./ports.js";
import type { AccessTracker } from "./access-tracker.js";
import { inferSubject, resolveConflict, subjectGloss } from "./conflicts.js";
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "./errors.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { limits } from "./limits.js";
import type { Embedder } from "./models.js";
import { scanPii, type PiiKind } from "./pii.js";
import { rankMemories, type RankingPolicy } from "./ranking.js";
import type { Memory, MemoryRecord, MemoryType, Metadata, Scope, ScoredMemory, StoredMessage } from "./types.js";
import {
  optionalText,
  requireId,
  requireIntInRange,
  requireMetadata,
  requireScope,
  requireText,
  requireUnitInterval,
} from "./validation.js";
import { gateByRules, type GateClassifier } from "./write-gate.js";

export interface RememberInput {
  readonly type: MemoryType;
  readonly content: string;
  readonly importance: number | undefined;
  readonly metadata: Metadata;
  readonly subject: string;
  readonly pinned: boolean;
  readonly occurredAt: Date | undefined;
  /** Skip the write gate (personal data is still redacted or refused). */
  readonly bypassGate: boolean;
}

export interface RecallInput {
  /** Who asks: a Recall call or context assembly (labels the quality metrics). */
  readonly purpose?: "recall" | "assemble";
  readonly query: string;
  readonly topK: number;
  readonly types: readonly MemoryType[];
  readonly minScore: number;
  readonly includeSuperseded: boolean;
}

export type RememberOutcome = "created" | "merged" | "updated" | "superseded_older" | "dropped";

export interface GateDecision {
  /** The session message it is about; empty for Remember. */
  readonly messageId: string;
  readonly stored: boolean;
  readonly type: MemoryType;
  readonly importance: number;
  readonly reason: string;
  readonly decidedBy: "rules" | "model" | "caller";
  readonly outcome: RememberOutcome;
  readonly memoryId: string;
}

export interface RememberResult {
  readonly memory: Memory | undefined;
  readonly outcome: RememberOutcome;
  readonly supersededIds: readonly string[];
  readonly decision: GateDecision;
  readonly redactions: readonly PiiKind[];
}

export interface LongTermOptions {
  readonly ranking: RankingPolicy;
  /** New memories are refused (RESOURCE_EXHAUSTED) once a user holds this many; 0 for no limit. */
  readonly maxMemoriesPerUser: number;
  /** "redact" replaces personal data and credentials; "refuse" rejects the memory. */
  readonly piiMode: "redact" | "refuse";
  /** Serialises a user's writes across replicas that share the long-term store. */
  readonly userWriteLock?: UserWriteLock;
}

/** What long-term memory reports besides its return values (metrics). */
export interface LongTermEvents {
  gateDecided?(decision: GateDecision): void;
  piiFound?(kinds: readonly PiiKind[], refused: boolean): void;
  superseded?(count: number): void;
  /** Every recall's results, best first, for the retrieval-quality metrics. */
  recalled?(purpose: "recall" | "assemble", results: readonly ScoredMemory[]): void;
}

const defaultImportance = 0.5;
/** Candidates fetched per requested result, so ranking has room to reorder. */
const candidateFactor = 4;
/** A memory that passed the gate, with its importance and time settled. */
type GatedMemory = Omit<RememberInput, "importance" | "occurredAt" | "bypassGate"> & {
  importance: number;
  occurredAt: Date;
};

interface WriteResult {
  memory: Memory;
  outcome: Exclude<RememberOutcome, "dropped">;
  supersededIds: string[];
}

/** Existing memories compared against a new one for duplicates and conflicts. */
const conflictCandidates = 10;

/** A user's cross-session memories: episodic, semantic and preference. */
export class LongTermMemory {
  /** One settling write at a time per user (see write). */
  private readonly settling = new KeyedMutex();

  constructor(
    private readonly store: LongTermStore,
    private readonly embedder: Embedder,
    private readonly classifier: GateClassifier,
    private readonly access: AccessTracker,
    private readonly options: LongTermOptions,
    private readonly events: LongTermEvents = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * An explicit write: personal data is redacted (or refused), the write gate
   * decides whether it is worth keeping (unless bypassed), then conflicts
   * with what is stored are settled.
   */
  async remember(scope: Scope, input: RememberInput, signal?: AbortSignal): Promise<RememberResult> {
    requireScope(scope);
    requireText(input.content, "content", limits.memoryContentBytes);
    const importance = requireUnitInterval(input.importance ?? defaultImportance, "importance");
    requireMetadata(input.metadata, "metadata");
    optionalText(input.subject, "subject", limits.subjectBytes);
    const now = this.clock();
    if (input.occurredAt && input.occurredAt.getTime() > now.getTime() + 60_000) {
      throw new InvalidArgumentError("occurred_at", "must not be in the future");
    }
    const pii = scanPii(input.content);
    if (pii.kinds.length > 0) {
      this.events.piiFound?.(pii.kinds, this.options.piiMode === "refuse");
      if (this.options.piiMode === "refuse") {
        throw new InvalidArgumentError(
          "content",
          `contains personal data or credentials (${pii.kinds.join(", ")}); this server refuses them (ENGRAM_PII_MODE=refuse)`,
        );
      }
    }
    let decidedBy: GateDecision["decidedBy"] = "caller";
    let reason = "bypassed";
    if (!input.bypassGate) {
      const candidate = { id: "", role: "user" as const, content: pii.redacted, metadata: input.metadata };
      const verdict = gateByRules(candidate);
      if (verdict.action === "ambiguous") {
        const [answer] = await this.classifier.classify([candidate], signal);
        decidedBy = "model";
        reason = answer?.reason ?? "unanswered";
        if (!answer?.store) return this.dropped(input.type, importance, decidedBy, `model:${reason}`, pii.kinds);
      } else if (verdict.action === "drop") {
        return this.dropped(input.type, importance, "rules", verdict.reason, pii.kinds);
      } else {
        decidedBy = "rules";
        reason = verdict.reason;
      }
    }
    const written = await this.write(
      scope,
      { ...input, content: pii.redacted, importance, occurredAt: input.occurredAt ?? now },
      signal,
    );
    const decision: GateDecision = {
      messageId: "",
      stored: true,
      type: input.type,
      importance,
      reason,
      decidedBy,
      outcome: written.outcome,
      memoryId: written.memory.id,
    };
    this.events.gateDecided?.(decision);
    return { ...written, decision, redactions: pii.kinds };
  }

  /**
   * The write gate over a session's messages (EndSession): rules settle the
   * clear cases, the classifier gets the ambiguous rest in one batch, and
   * what is kept is redacted (or refused) and written like any memory.
   * One decision per message, in session order.
   */
  async extract(scope: Scope, messages: readonly StoredMessage[], signal?: AbortSignal): Promise<GateDecision[]> {
    const candidates = messages.map((m) => ({ id: m.id, role: m.role, content: m.content, metadata: m.metadata }));
    const verdicts = candidates.map(gateByRules);
    const ambiguous = candidates.filter((_, i) => verdicts[i]!.action === "ambiguous");
    const answers = new Map(
      (ambiguous.length > 0 ? await this.classifier.classify(ambiguous, signal) : []).map((a) => [a.id, a]),
    );
    const decisions: GateDecision[] = [];
    for (const [i, message] of messages.entries()) {
      const verdict = verdicts[i]!;
      const answer = answers.get(message.id);
      const decidedBy = verdict.action === "ambiguous" ? "model" : "rules";
      const keep =
        verdict.action === "store"
          ? verdict
          : verdict.action === "ambiguous" && answer?.store
            ? { type: answer.type, importance: answer.importance, reason: `model:${answer.reason}` }
            : undefined;
      const base = { messageId: message.id, decidedBy } as const;
      if (!keep) {
        const reason = verdict.action === "drop" ? verdict.reason : `model:${answer?.reason ?? "unanswered"}`;
        decisions.push(
          this.decide({
            ...base,
            stored: false,
            type: "semantic",
            importance: 0,
            reason,
            outcome: "dropped",
            memoryId: "",
          }),
        );
        continue;
      }
      const pii = scanPii(message.content);
      if (pii.kinds.length > 0) this.events.piiFound?.(pii.kinds, this.options.piiMode === "refuse");
      if (pii.kinds.length > 0 && this.options.piiMode === "refuse") {
        decisions.push(
          this.decide({
            ...base,
            stored: false,
            type: keep.type,
            importance: keep.importance,
            reason: "pii-refused",
            outcome: "dropped",
            memoryId: "",
          }),
        );
        continue;
      }
      const written = await this.write(
        scope,
        {
          type: keep.type,
          content: pii.redacted,
          importance: keep.importance,
          metadata: {},
          subject: "",
          pinned: false,
          occurredAt: message.createdAt,
        },
        signal,
      );
      decisions.push(
        this.decide({
          ...base,
          stored: true,
          type: keep.type,
          importance: keep.importance,
          reason: keep.reason,
          outcome: written.outcome,
          memoryId: written.memory.id,
        }),
      );
    }
    return decisions;
  }

  private decide(decision: GateDecision): GateDecision {
    this.events.gateDecided?.(decision);
    return decision;
  }

  private dropped(
    type: MemoryType,
    importance: number,
    decidedBy: GateDecision["decidedBy"],
    reason: string,
    redactions: readonly PiiKind[],
  ): RememberResult {
    const decision: GateDecision = {
      messageId: "",
      stored: false,
      type,
      importance,
      reason,
      decidedBy,
      outcome: "dropped",
      memoryId: "",
    };
    this.events.gateDecided?.(decision);
    return { memory: undefined, outcome: "dropped", supersededIds: [], decision, redactions };
  }

  /**
   * Writes a memory that passed the gate, settling conflicts: a near-duplicate
   * refreshes the existing memory, a fact with a known subject is updated in
   * place, and a newer preference or decision supersedes older ones.
   *
   * Settling is a read (what is stored) then a write that depends on it, so a
   * user's writes settle one at a time: two concurrent copies of one fact
   * must end as one memory, not two current versions. The embedding, the
   * slow part, is computed before taking the user's turn; replicas sharing
   * a long-term store also take the user's shared write lock.
   */
  async write(scope: Scope, input: GatedMemory, signal?: AbortSignal): Promise<WriteResult> {
    const subject = input.subject || inferSubject(input.type, input.content);
    const [embedding] = await this.embedder.embed(
      [subject ? `${input.content}\n${subjectGloss(subject)}` : input.content],
      signal,
    );
    return this.inUserTurn(
      scope,
      () => {
        signal?.throwIfAborted();
        return this.settle(scope, { ...input, subject }, embedding!);
      },
      signal,
    );
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
    input: GatedMemory & { subject: string },
    embedding: Float32Array,
  ): Promise<WriteResult> {
    const now = this.clock();
    const similar = await this.store.search(scope, {
      embedding,
      text: input.content,
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

  async recall(scope: Scope, input: RecallInput, signal?: AbortSignal): Promise<ScoredMemory[]> {
    requireScope(scope);
    requireText(input.query, "query", limits.queryBytes);
    const topK = input.topK === 0 ? limits.topKDefault : requireIntInRange(input.topK, "top_k", 1, limits.topKMax);
    requireUnitInterval(input.minScore, "min_score");
    const [embedding] = await this.embedder.embed([input.query], signal);
    const hits = await this.store.search(scope, {
      embedding: embedding!,
      text: input.query,
      types: input.types,
      includeSuperseded: input.includeSuperseded,
      limit: Math.max(topK * candidateFactor, 20),
    });
    const now = this.clock();
    const ranked = rankMemories(
      hits.map((h) => ({ memory: withoutEmbedding(h.record), relevance: h.relevance })),
      now,
      this.options.ranking,
      { topK, minScore: input.minScore },
    );
    this.access.record(
      scope,
      ranked.map((r) => r.memory.id),
      now,
    );
    this.events.recalled?.(input.purpose ?? "recall", ranked);
    return ranked;
  }

  async get(scope: Scope, memoryId: string): Promise<Memory> {
    requireScope(scope);
    requireId(memoryId, "memory_id");
    const record = await this.store.get(scope, memoryId);
    if (!record) throw new NotFoundError("memory", memoryId);
    return withoutEmbedding(record);
  }

  async forget(scope: Scope, memoryId: string): Promise<void> {
    requireScope(scope);
    requireId(memoryId, "memory_id");
    if (!(await this.store.delete(scope, memoryId))) throw new NotFoundError("memory", memoryId);
  }
}

function withoutEmbedding(record: MemoryRecord): Memory {
  const { embedding: _embedding, ...memory } = record;
  return memory;
}
