import type { ListCursor, Stores } from "./ports.js";
import type { HistoryEntry } from "./memory-management.js";
import { AccessTracker } from "./access-tracker.js";
import { ContextAssembler } from "./context-assembler.js";
import { evictStale, type EvictionTarget } from "./eviction.js";
import { ModelExtraction } from "./model-extraction.js";
import type { Embedder, Extractor, Summariser } from "./models.js";
import type { RankingPolicy } from "./ranking.js";
import type { RerankStage } from "./memory-recall.js";
import { LongTermMemory, type LongTermEvents } from "./long-term-memory.js";
import type { GateDecision } from "./memory-intake.js";
import type { RecallInput } from "./memory-recall.js";
import { InProcessRetrievalLog } from "./retrieval-log.js";
import { UsageReporting, type UsageEvents, type UsageReport } from "./usage-reporting.js";
import { limits } from "./limits.js";
import { SessionLearning, type LearningEvents, type LearningOptions } from "./session-learning.js";
import type { GateClassifier } from "./write-gate.js";
import { ShortTermMemory, type ShortTermEvents, type ShortTermOptions } from "./short-term-memory.js";
import {
  withoutEmbedding,
  type EvictionPolicy,
  type EvictionReport,
  type Memory,
  type Scope,
  type ScoredMemory,
  type SessionSnapshot,
  type WorkingState,
} from "./types.js";
import { requireScope } from "./validation.js";
import { WorkingMemory, type WorkingOptions } from "./working-memory.js";

export interface EngramOptions {
  readonly shortTerm: ShortTermOptions;
  readonly working: WorkingOptions;
  readonly learning: LearningOptions;
  readonly ranking: RankingPolicy;
  /** An optional rerank stage after recall's ranking (domain/rerank.ts). */
  readonly rerank?: RerankStage | undefined;
  readonly piiMode: "redact" | "refuse";
  readonly maxMemoriesPerUser: number;
  readonly eviction: EvictionPolicy;
  readonly accessFlushIntervalMs: number;
  /** Recall queries whose vectors are kept (QueryEmbeddingCache); absent or 0: none. */
  readonly queryEmbeddingCacheEntries?: number;
  /** The in-process retrieval log's bounds, used when the stores bring no shared one. */
  readonly retrievalLog?: { readonly ttlMs: number; readonly maxEntries: number };
}

export interface EngramEvents extends ShortTermEvents, LongTermEvents, LearningEvents, UsageEvents {
  accessWriteFailed?(error: unknown): void;
  evicted?(counts: { band: number; policy: number }): void;
}

export type ExportItem =
  | { readonly kind: "memory"; readonly memory: Memory; readonly history: readonly HistoryEntry[] }
  | { readonly kind: "task"; readonly task: WorkingState }
  | { readonly kind: "session"; readonly sessionId: string; readonly session: SessionSnapshot };

export interface ForgetUserReport {
  readonly sessionsDeleted: number;
  readonly tasksDeleted: number;
  readonly memoriesDeleted: number;
}

/** The memory hierarchy as one object: what the RPC layer and the CLI call. */
export class Engram {
  readonly shortTerm: ShortTermMemory;
  readonly working: WorkingMemory;
  readonly longTerm: LongTermMemory;
  readonly assembler: ContextAssembler;
  readonly learning: SessionLearning;
  readonly usage: UsageReporting;
  private readonly access: AccessTracker;
  private readonly embedder: Embedder;

  constructor(
    private readonly stores: Stores,
    models: { embedder: Embedder; summariser: Summariser; classifier: GateClassifier; extractor?: Extractor },
    private readonly options: EngramOptions,
    private readonly events: EngramEvents = {},
  ) {
    this.embedder = models.embedder;
    this.access = new AccessTracker(
      stores.longTerm,
      options.accessFlushIntervalMs,
      events.accessWriteFailed,
      stores.userWriteLock,
    );
    this.shortTerm = new ShortTermMemory(stores.sessions, models.summariser, options.shortTerm, events, (scope, id) =>
      this.learning.schedule({ scope, sessionId: id }, "compaction"),
    );
    this.working = new WorkingMemory(stores.working, options.working);
    this.longTerm = new LongTermMemory(
      stores.longTerm,
      models.embedder,
      models.classifier,
      this.access,
      {
        ranking: options.ranking,
        rerank: options.rerank,
        piiMode: options.piiMode,
        maxMemoriesPerUser: options.maxMemoriesPerUser,
        queryEmbeddingCacheEntries: options.queryEmbeddingCacheEntries ?? 0,
        userWriteLock: stores.userWriteLock,
      },
      events,
    );
    this.usage = new UsageReporting(
      stores.retrievalLog ??
        new InProcessRetrievalLog(options.retrievalLog?.ttlMs ?? 900_000, options.retrievalLog?.maxEntries ?? 10_000),
      stores.longTerm,
      events,
    );
    this.assembler = new ContextAssembler(this.shortTerm, this.working, this.longTerm, (scope, ids) =>
      this.usage.record(scope, "assemble", ids),
    );
    this.learning = new SessionLearning(
      stores.sessions,
      stores.learningQueue,
      stores.sessionLease,
      this.shortTerm,
      this.longTerm.intake,
      options.learning,
      events,
      models.extractor
        ? new ModelExtraction(models.extractor, this.longTerm.intake, (...args) =>
            this.longTerm.settlement.closest(...args),
          )
        : undefined,
    );
  }

  /** Starts background learning (the server's job; one-shot commands leave it to the server). */
  start(): Promise<void> {
    return this.learning.start();
  }

  /** Ends a session: learns from what was not learnt from yet, then deletes it (see SessionLearning). */
  endSession(
    scope: Scope,
    sessionId: string,
    signal?: AbortSignal,
  ): Promise<{ messageCount: number; decisions: GateDecision[] }> {
    return this.learning.endSession(scope, sessionId, signal);
  }

  /** A caller's Recall: ranked memories, and the retrieval id a ReportUsage names them by. */
  async recall(
    scope: Scope,
    input: RecallInput,
    signal?: AbortSignal,
  ): Promise<{ memories: ScoredMemory[]; retrievalId: string }> {
    const memories = await this.longTerm.recall(scope, input, signal);
    const retrievalId = await this.usage.record(
      scope,
      input.purpose ?? "recall",
      memories.map((m) => m.memory.id),
    );
    return { memories, retrievalId };
  }

  /** Which returned memories the caller's LLM used: feeds the retrieval-quality metrics (see UsageReporting). */
  reportUsage(
    scope: Scope,
    request: { retrievalId: string; returnedIds: readonly string[]; usedIds: readonly string[] },
  ): Promise<UsageReport> {
    return this.usage.report(scope, request);
  }

  /** Erases everything of one user, tier by tier; each tier's delete is atomic. */
  async forgetUser(scope: Scope): Promise<ForgetUserReport> {
    requireScope(scope);
    const [sessionsDeleted, tasksDeleted, memoriesDeleted] = await Promise.all([
      this.stores.sessions.deleteUser(scope),
      this.stores.working.deleteUser(scope),
      this.longTerm.forgetUser(scope),
    ]);
    return { sessionsDeleted, tasksDeleted, memoriesDeleted };
  }

  /**
   * Everything held of one user, every tier, as a stream: long-term
   * memories (current and superseded, each with its history) a page at a
   * time, then working state, then sessions. The counterpart of forgetUser.
   */
  async *exportUser(scope: Scope, signal?: AbortSignal): AsyncGenerator<ExportItem> {
    requireScope(scope);
    let after: ListCursor | undefined;
    for (;;) {
      signal?.throwIfAborted();
      const page = await this.stores.longTerm.list(scope, {}, after, limits.listPageSizeMax);
      for (const record of page) {
        yield {
          kind: "memory",
          memory: withoutEmbedding(record),
          history: (record.history ?? []).map((v) => ({ ...v, memoryId: record.id })),
        };
      }
      if (page.length < limits.listPageSizeMax) break;
      after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
    }
    for (const task of await this.stores.working.list(scope)) yield { kind: "task", task };
    for (const sessionId of await this.stores.sessions.sessionIds(scope)) {
      signal?.throwIfAborted();
      const session = await this.stores.sessions.read(scope, sessionId);
      if (session) yield { kind: "session", sessionId, session };
    }
  }

  /** Forgets stale memories; `overrides` replace parts of the configured policy. */
  evictStale(
    target: EvictionTarget,
    overrides: Partial<EvictionPolicy>,
    options: { dryRun: boolean; now?: Date; signal?: AbortSignal },
  ): Promise<EvictionReport> {
    return evictStale(
      this.stores.longTerm,
      target,
      { ...this.options.eviction, ...overrides },
      {
        now: options.now ?? new Date(),
        dryRun: options.dryRun,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(this.events.evicted ? { onEvicted: this.events.evicted } : {}),
      },
    );
  }

  /** Writes queued access statistics; called on shutdown. */
  async close(): Promise<void> {
    await this.learning.stop();
    await this.access.close();
    await this.embedder.close?.();
  }
}
