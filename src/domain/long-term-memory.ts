import { randomUUID } from "node:crypto";
import type { LongTermStore } from "../storage/stores.js";
import type { AccessTracker } from "./access-tracker.js";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { limits } from "./limits.js";
import type { Embedder } from "./models.js";
import { rankMemories, type RankingPolicy } from "./ranking.js";
import type { Memory, MemoryRecord, MemoryType, Metadata, Scope, ScoredMemory } from "./types.js";
import {
  optionalText,
  requireId,
  requireIntInRange,
  requireMetadata,
  requireScope,
  requireText,
  requireUnitInterval,
} from "./validation.js";

export interface RememberInput {
  readonly type: MemoryType;
  readonly content: string;
  readonly importance: number | undefined;
  readonly metadata: Metadata;
  readonly subject: string;
  readonly pinned: boolean;
  readonly occurredAt: Date | undefined;
}

export interface RecallInput {
  readonly query: string;
  readonly topK: number;
  readonly types: readonly MemoryType[];
  readonly minScore: number;
  readonly includeSuperseded: boolean;
}

const defaultImportance = 0.5;
/** Candidates fetched per requested result, so ranking has room to reorder. */
const candidateFactor = 4;

/** A user's cross-session memories: episodic, semantic and preference. */
export class LongTermMemory {
  constructor(
    private readonly store: LongTermStore,
    private readonly embedder: Embedder,
    private readonly access: AccessTracker,
    private readonly ranking: RankingPolicy,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async remember(scope: Scope, input: RememberInput, signal?: AbortSignal): Promise<Memory> {
    requireScope(scope);
    requireText(input.content, "content", limits.memoryContentBytes);
    const importance = requireUnitInterval(input.importance ?? defaultImportance, "importance");
    requireMetadata(input.metadata, "metadata");
    optionalText(input.subject, "subject", limits.subjectBytes);
    const now = this.clock();
    if (input.occurredAt && input.occurredAt.getTime() > now.getTime() + 60_000) {
      throw new InvalidArgumentError("occurred_at", "must not be in the future");
    }
    const [embedding] = await this.embedder.embed([input.content], signal);
    const record: MemoryRecord = {
      id: randomUUID(),
      scope,
      type: input.type,
      content: input.content,
      importance,
      metadata: input.metadata,
      subject: input.subject,
      pinned: input.pinned,
      occurredAt: input.occurredAt ?? now,
      createdAt: now,
      updatedAt: now,
      lastAccessedAt: undefined,
      accessCount: 0,
      supersededBy: undefined,
      validUntil: undefined,
      embedding: embedding!,
    };
    await this.store.insert(record);
    return withoutEmbedding(record);
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
      this.ranking,
      { topK, minScore: input.minScore },
    );
    this.access.record(
      scope,
      ranked.map((r) => r.memory.id),
      now,
    );
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
