import type { AccessTracker } from "./access-tracker.js";
import { MemoryIntake, type IntakeEvents, type IntakeOptions } from "./memory-intake.js";
import { MemoryManagement } from "./memory-management.js";
import { MemoryRecall, type RecallEvents, type RerankStage } from "./memory-recall.js";
import { MemorySettlement, type SettlementEvents, type SettlementOptions } from "./memory-settlement.js";
import type { Embedder } from "./models.js";
import type { LongTermStore } from "./ports.js";
import { QueryEmbeddingCache } from "./query-embedding-cache.js";
import type { RankingPolicy } from "./ranking.js";
import type { GateClassifier } from "./write-gate.js";

export interface LongTermOptions extends IntakeOptions, SettlementOptions {
  readonly ranking: RankingPolicy;
  /** Recall queries whose vectors are kept for a repeat (QueryEmbeddingCache); absent or 0: none. */
  readonly queryEmbeddingCacheEntries?: number;
  /** An optional rerank stage after ranking; absent ranks offline. */
  readonly rerank?: RerankStage | undefined;
}

/** What long-term memory reports besides its return values (metrics). */
export interface LongTermEvents extends IntakeEvents, SettlementEvents, RecallEvents {}

/**
 * A user's cross-session memories (episodic, semantic, preference), as the
 * three concerns callers use: intake (Remember and extraction, through one
 * pipeline), settlement (conflicts, the user's write turn) and recall.
 */
export class LongTermMemory {
  readonly intake: MemoryIntake;
  readonly settlement: MemorySettlement;
  readonly reader: MemoryRecall;
  readonly management: MemoryManagement;

  constructor(
    store: LongTermStore,
    embedder: Embedder,
    classifier: GateClassifier,
    access: AccessTracker,
    options: LongTermOptions,
    events: LongTermEvents = {},
    clock: () => Date = () => new Date(),
  ) {
    this.settlement = new MemorySettlement(store, embedder, access, options, events, clock);
    this.intake = new MemoryIntake(this.settlement, classifier, options, events, clock);
    // Only recall's queries go through the cache: memory texts are rarely embedded twice.
    const queries = new QueryEmbeddingCache(embedder, options.queryEmbeddingCacheEntries ?? 0);
    this.reader = new MemoryRecall(store, embedder, access, options.ranking, events, clock, options.rerank, queries);
    this.management = new MemoryManagement(store, this.intake, this.settlement);
  }

  readonly remember: MemoryIntake["remember"] = (...args) => this.intake.remember(...args);
  readonly extract: MemoryIntake["extract"] = (...args) => this.intake.extract(...args);
  readonly recall: MemoryRecall["recall"] = (...args) => this.reader.recall(...args);
  readonly get: MemoryRecall["get"] = (...args) => this.reader.get(...args);
  readonly forget: MemoryRecall["forget"] = (...args) => this.reader.forget(...args);
  readonly forgetUser: MemorySettlement["forgetUser"] = (...args) => this.settlement.forgetUser(...args);
  readonly importMemories: MemoryIntake["importMemories"] = (...args) => this.intake.importMemories(...args);
  readonly history: MemoryManagement["history"] = (...args) => this.management.history(...args);
  readonly list: MemoryManagement["list"] = (...args) => this.management.list(...args);
  readonly update: MemoryManagement["update"] = (...args) => this.management.update(...args);
}
