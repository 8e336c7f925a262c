import type { AccessTracker } from "./access-tracker.js";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { limits } from "./limits.js";
import type { Embedder } from "./models.js";
import { validateFilter } from "./memory-management.js";
import type { CandidateSearch, LongTermStore, MemoryFilter, RecallCandidates } from "./ports.js";
import { withPeriodCandidates } from "./period-match.js";
import type { QueryPeriod } from "./query-period.js";
import type { RetrievalPurpose } from "./retrieval-log.js";
import type { RankingPolicy } from "./ranking.js";
import { defaultRecallStages, rankRecallCandidates, type RecallRankingPolicy } from "./recall-ranking.js";
import { readRecallQuery } from "./recall-query.js";
import { reorderByRerank, rerankDocument, type Reranker } from "./rerank.js";
import { withoutEmbedding, type Memory, type MemoryType, type Scope, type ScoredMemory } from "./types.js";
import {
  requireId,
  requireIntInRange,
  requireScope,
  requireSpeakerName,
  requireText,
  requireUnitInterval,
} from "./validation.js";

export interface RecallInput {
  /** Who asks: a Recall call, context assembly or the recall probe (labels the quality metrics). */
  readonly purpose?: RetrievalPurpose;
  readonly query: string;
  readonly topK: number;
  readonly types: readonly MemoryType[];
  readonly minScore: number;
  readonly includeSuperseded: boolean;
  /**
   * Look without touching: leave the results' access statistics as they are
   * (dry runs, admin screens, benchmarks). Absent or false records the access.
   */
  readonly skipAccessTracking?: boolean;
  /** Further conditions (metadata, subject, time ranges...), applied inside the store's query. */
  readonly filter?: MemoryFilter;
  /** Only memories of these speakers (Memory.speaker); absent or empty means everyone. */
  readonly speakers?: readonly string[];
  /**
   * Which signals rank: both fused (absent, what every caller gets), or one
   * alone. The recall probe asks each alone as well, because the fusion hides
   * a broken signal behind the healthy one: with a swapped embedder the fused
   * ranking can still find every probe memory by its words.
   */
  readonly signals?: RecallSignals;
}

export type RecallSignals = "both" | "vector" | "lexical";

export interface RecallEvents {
  /** Every recall's results, best first, for the retrieval-quality metrics. */
  recalled?(purpose: RetrievalPurpose, results: readonly ScoredMemory[]): void;
  /** The reranker failed; the recall answered in the ranking's own order. */
  rerankFailed?(error: unknown): void;
}

/** An optional rerank stage (domain/rerank.ts) over the best `depth` results. */
export interface RerankStage {
  readonly reranker: Reranker;
  readonly depth: number;
}

/**
 * Candidates of each signal fetched per requested result, at least
 * `candidateFloor`, so ranking has room to reorder (and a reply its
 * question to lean on): on LoCoMo's dev set 4 per result lost 1.5 points of
 * recall@10 against 10 (docs/recall-quality.md).
 */
const candidateFactor = 5;
const candidateFloor = 50;

/** Reading a user's long-term memories: ranked recall, one by id, and forgetting one. */
export class MemoryRecall {
  constructor(
    private readonly store: LongTermStore,
    private readonly embedder: Embedder,
    private readonly access: AccessTracker,
    ranking: RankingPolicy & Partial<RecallRankingPolicy>,
    private readonly events: RecallEvents = {},
    private readonly clock: () => Date = () => new Date(),
    private readonly rerank?: RerankStage,
    /** The query-vector cache in front of `embedder` (QueryEmbeddingCache); absent: every query is embedded. */
    private readonly queryEmbeddings: Embedder = embedder,
  ) {
    this.ranking = { ...defaultRecallStages, ...ranking };
  }

  private readonly ranking: RecallRankingPolicy;

  async recall(scope: Scope, input: RecallInput, signal?: AbortSignal): Promise<ScoredMemory[]> {
    requireScope(scope);
    requireText(input.query, "query", limits.queryBytes);
    const topK = input.topK === 0 ? limits.topKDefault : requireIntInRange(input.topK, "top_k", 1, limits.topKMax);
    requireUnitInterval(input.minScore, "min_score");
    if (input.filter) validateFilter(input.filter, "filter");
    const query = readRecallQuery(input.query);
    // The probe measures the live model: a cached vector would hide a model swapped under the same name.
    const queryEmbedder = input.purpose === "probe" ? this.embedder : this.queryEmbeddings;
    // Not awaited here: the store may start its lexical search while the model computes the vector.
    const embedding = queryEmbedder.embed([input.query], signal).then(([vector]) => vector!);
    // The store awaits it; a store failing before it does must not leave it unhandled.
    embedding.catch(() => {});
    const search: CandidateSearch = {
      embedding,
      terms: query.terms,
      types: input.types,
      // An explicit superseded filter decides; otherwise include_superseded does.
      includeSuperseded: input.includeSuperseded || input.filter?.superseded === true,
      speakers: requireSpeakers(input.speakers ?? []),
      limit: Math.max(Math.max(topK, this.rerank?.depth ?? 0) * candidateFactor, candidateFloor),
      ...(input.filter ? { filter: input.filter } : {}),
    };
    // A query naming a period also searches that period alone (domain/period-match.ts).
    const periodFilter = query.period && withinPeriod(input.filter ?? {}, query.period);
    const candidates = periodFilter
      ? withPeriodCandidates(
          ...(await Promise.all([
            this.store.candidates(scope, search),
            this.store.candidates(scope, { ...search, filter: periodFilter }),
          ])),
        )
      : await this.store.candidates(scope, search);
    const now = this.clock();
    const ranked = await this.reranked(
      input.query,
      rankRecallCandidates(query, onlySignals(candidates, input.signals ?? "both"), now, this.ranking, {
        topK: Math.max(topK, this.rerank?.depth ?? 0),
        minScore: input.minScore,
      }),
      signal,
    ).then((results) => results.slice(0, topK));
    if (!input.skipAccessTracking) {
      this.access.record(
        scope,
        ranked.map((r) => r.memory.id),
        now,
      );
    }
    this.events.recalled?.(input.purpose ?? "recall", ranked);
    return ranked;
  }

  /** The results reordered by the reranker, when one is configured; as ranked if it fails. */
  private async reranked(query: string, ranked: ScoredMemory[], signal?: AbortSignal): Promise<ScoredMemory[]> {
    if (!this.rerank || ranked.length < 2) return ranked;
    const head = ranked.slice(0, this.rerank.depth);
    try {
      return reorderByRerank(ranked, await this.rerank.reranker.rerank(query, head.map(rerankDocument), signal));
    } catch (error) {
      if (signal?.aborted) throw error;
      this.events.rerankFailed?.(error);
      return ranked;
    }
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

function requireSpeakers(speakers: readonly string[]): readonly string[] {
  if (speakers.length > limits.speakerFilterNames) {
    throw new InvalidArgumentError("speakers", `must name at most ${limits.speakerFilterNames} speakers`);
  }
  speakers.forEach((name, i) => {
    if (name === "") throw new InvalidArgumentError(`speakers[${i}]`, "must not be empty");
    requireSpeakerName(name, `speakers[${i}]`);
  });
  return speakers;
}

/** The candidates of the asked-for signals only (RecallInput.signals). */
function onlySignals(candidates: RecallCandidates, signals: RecallSignals): RecallCandidates {
  if (signals === "vector") return { vector: candidates.vector, lexical: [] };
  if (signals === "lexical") return { vector: [], lexical: candidates.lexical };
  return candidates;
}

/** The filter narrowed to the period, or undefined when the two do not overlap. */
function withinPeriod(filter: MemoryFilter, period: QueryPeriod): MemoryFilter | undefined {
  const from = Math.max(filter.occurredFrom?.getTime() ?? -Infinity, period.from.getTime());
  const before = Math.min(filter.occurredBefore?.getTime() ?? Infinity, period.before.getTime());
  return from < before ? { ...filter, occurredFrom: new Date(from), occurredBefore: new Date(before) } : undefined;
}
