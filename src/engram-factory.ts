import { ConfigError, type Config } from "./config.js";
import { Engram, type EngramEvents } from "./domain/engram.js";
import { identityKey, type Embedder, type Extractor, type Summariser } from "./domain/models.js";
import { LocalStatementClassifier, type GateClassifier } from "./domain/write-gate.js";
import { LocalEmbedder } from "./models/local-embedder.js";
import { OnnxEmbedder } from "./models/onnx-embedder.js";
import { OpenAiCompatibleReranker } from "./models/openai-reranker.js";
import { LocalSummariser } from "./models/local-summariser.js";
import { lockDatabase, DatabaseInUseError } from "./storage/embedded/data-dir-lock.js";
import { openEmbeddedStores } from "./storage/embedded/embedded-stores.js";
import { createLogger } from "./observability/logger.js";
import type { Stores } from "./domain/ports.js";
import type { EvictionPolicy } from "./domain/types.js";
import type { EngramMetrics } from "./observability/metrics.js";
import { observeStores } from "./observability/observe-stores.js";
import { traceModels } from "./observability/trace-models.js";
import { stageTimings, withSearchTimings } from "./observability/stage-timings.js";

/**
 * Builds the memory hierarchy from configuration: the stores it names and the
 * model providers. Shared by the server and the `engram evict` command so
 * both see the same data the same way. Whatever stores are opened (the
 * configured ones, or a test's) are observed here, once: metrics when
 * `metrics` is given, spans under a traced call.
 */
export async function openEngram(
  config: Config,
  events: EngramEvents = {},
  openStores: (config: Config, dimensions: number, embedder: string) => Stores | Promise<Stores> = openConfiguredStores,
  metrics?: EngramMetrics,
): Promise<{ engram: Engram; stores: Stores }> {
  stageTimings.enabled = config.longTerm.stageTimings;
  const models = traceModels(await openModels(config), config.models.provider);
  const observed = observeStores(
    await openStores(
      config,
      models.embedder.dimensions,
      identityKey(models.embedder.identity, models.embedder.dimensions),
    ),
    metrics,
  );
  const stores = config.longTerm.stageTimings ? withSearchTimings(observed) : observed;
  const engram = new Engram(
    stores,
    models,
    {
      shortTerm: {
        sessionTtlSeconds: config.shortTerm.sessionTtlSeconds,
        compaction: { tokenLimit: config.shortTerm.tokenLimit, keepRecent: config.shortTerm.keepRecent },
        summaryMaxTokens: config.shortTerm.summaryMaxTokens,
      },
      working: { defaultTtlSeconds: config.working.defaultTtlSeconds },
      learning: config.learning,
      ranking: config.ranking,
      rerank: config.ranking.rerank
        ? { reranker: new OpenAiCompatibleReranker(config.ranking.rerank), depth: config.ranking.rerank.depth }
        : undefined,
      piiMode: config.longTerm.piiMode,
      maxMemoriesPerUser: config.longTerm.refuseWritesAbovePerUser,
      eviction: evictionPolicy(config.eviction),
      accessFlushIntervalMs: config.longTerm.accessFlushIntervalMs,
      retrievalLog: { ttlMs: config.quality.retrievalTtlMs, maxEntries: config.quality.retrievalMaxEntries },
      queryEmbeddingCacheEntries: config.longTerm.queryEmbeddingCacheEntries,
    },
    events,
  );
  return { engram, stores };
}

/** The configured eviction defaults as the domain's policy (whose field keeps the wire's name). */
function evictionPolicy(eviction: Config["eviction"]): EvictionPolicy {
  const { evictDownToPerUser, scoreThreshold, halfLifeHours, minAgeHours, maxAgeHours } = eviction;
  return { scoreThreshold, halfLifeHours, minAgeHours, maxAgeHours, maxMemoriesPerUser: evictDownToPerUser };
}

/**
 * The embedded database serves every tier no other backend is configured
 * for; Redis, when configured, serves short-term and working memory, and
 * Weaviate long-term memory. With both configured no local file is opened,
 * so a replica needs no writable volume.
 */
export async function openConfiguredStores(
  config: Config,
  dimensions: number,
  /** The embedder's identity key: long-term stores holding another embedder's vectors refuse to open. */
  embedder?: string,
  options: {
    /** Open whatever vectors long-term memory holds (`engram reembed`). */
    anyVectors?: boolean;
    /**
     * A one-shot job beside a running server (`engram evict`, `engram probe`):
     * opens the embedded database without claiming it (data-dir-lock.ts).
     */
    besideServer?: boolean;
  } = {},
): Promise<Stores> {
  const redisConfig = config.store.redis;
  const weaviateConfig = config.store.weaviate;
  // Loaded only when configured: their clients' code is tens of MiB the embedded default never uses.
  const { openRedisStores } = redisConfig
    ? await import("./storage/redis/redis-stores.js")
    : { openRedisStores: undefined };
  const { openWeaviateStores } = weaviateConfig
    ? await import("./storage/weaviate/weaviate-store.js")
    : { openWeaviateStores: undefined };
  const { besideServer, ...vectors } = options;
  const opensFile = !(redisConfig && weaviateConfig);
  const lock = opensFile && !besideServer ? claim(config.store.sqlitePath) : undefined;
  let embedded: Stores | undefined;
  try {
    embedded = !opensFile
      ? undefined
      : openEmbeddedStores({
          path: config.store.sqlitePath,
          dimensions,
          // Long-term memory on Weaviate: the file holds no vectors to check.
          ...(weaviateConfig ? {} : { ...(embedder !== undefined ? { embedder } : {}), ...vectors }),
        });
  } catch (error) {
    lock?.release();
    throw error;
  }
  const redis = redisConfig
    ? openRedisStores!(
        {
          ...redisConfig,
          sessionLease: { leaseMs: config.learning.leaseMs, waitMs: 30_000 },
          retrievalLog: { ttlMs: config.quality.retrievalTtlMs, maxPerUser: config.quality.retrievalMaxPerUser },
        },
        createLogger(config.log.level),
      )
    : undefined;
  try {
    const weaviate = weaviateConfig
      ? await openWeaviateStores!(
          weaviateConfig,
          dimensions,
          { ...(embedder !== undefined ? { embedder } : {}), ...vectors },
          createLogger(config.log.level),
        )
      : undefined;
    await redis?.connected;
    return {
      sessions: redis?.sessions ?? embedded!.sessions,
      working: redis?.working ?? embedded!.working,
      longTerm: weaviate?.longTerm ?? embedded!.longTerm,
      backends: {
        sessions: redis ? "redis" : "embedded",
        working: redis ? "redis" : "embedded",
        longTerm: weaviate ? "weaviate" : "embedded",
      },
      health: [...(embedded?.health ?? []), ...(redis ? [redis.health] : []), ...(weaviate ? [weaviate.health] : [])],
      // Replicas share long-term memory only through Weaviate; an embedded
      // store belongs to one process, whose in-process ordering suffices.
      userWriteLock: weaviate ? redis?.userWriteLock : undefined,
      // The queue lives with the sessions it is about.
      learningQueue: redis?.learningQueue ?? embedded!.learningQueue,
      sessionLease: redis?.sessionLease,
      // In Redis, a report may reach any replica; absent, Engram keeps retrievals in the process.
      retrievalLog: redis?.retrievalLog,
      // Only the tiers the embedded store still serves can be counted cheaply.
      sizes: async () => {
        const all = (await embedded?.sizes?.()) ?? {};
        return {
          ...(redis ? {} : { sessions: all.sessions, working: all.working }),
          ...(weaviate ? {} : { long_term: all.long_term }),
        };
      },
      close: async () => {
        await redis?.close();
        await weaviate?.close();
        await embedded?.close();
        lock?.release();
      },
    };
  } catch (error) {
    await redis?.close();
    await embedded?.close();
    lock?.release();
    throw error;
  }
}

/**
 * One serving process per embedded database: a second one fails start-up
 * like a bad value, naming the variable to change (a second `make start` in
 * the same clone, or `engram mcp` pointed at a running server's directory).
 */
function claim(path: string) {
  try {
    return lockDatabase(path);
  } catch (error) {
    if (!(error instanceof DatabaseInUseError)) throw error;
    throw new ConfigError(
      "ENGRAM_DATA_DIR",
      `${path} is in use by another Engram process (a running engram serve, engram mcp or engram reembed): ` +
        "stop it, or give this one its own ENGRAM_DATA_DIR; to share its memory, call that server " +
        "(gRPC, or MCP over HTTP) instead of opening its file",
    );
  }
}

/**
 * The model providers: local and deterministic by default; local-onnx swaps
 * in a sentence-embedding model run in-process (summaries and the gate stay
 * local); with an OpenAI-compatible endpoint, its embedding model (whose
 * dimension is asked of the model itself), summaries and write-gate decisions.
 */
export async function openModels(
  config: Config,
): Promise<{ embedder: Embedder; summariser: Summariser; classifier: GateClassifier; extractor?: Extractor }> {
  const openai = config.models.openai;
  if (!openai) {
    const onnx = config.models.onnx;
    return {
      embedder: onnx ? await OnnxEmbedder.open(onnx) : new LocalEmbedder(config.models.embeddingDimensions),
      summariser: new LocalSummariser(),
      classifier: new LocalStatementClassifier(),
    };
  }
  // Loaded only with the openai provider, like the stores above.
  const [{ createOpenAiClient, OpenAiEmbedder, OpenAiGateClassifier, OpenAiSummariser }, { OpenAiExtractor }] =
    await Promise.all([import("./models/openai-models.js"), import("./models/openai-extractor.js")]);
  const client = createOpenAiClient(openai);
  const dimensions = await OpenAiEmbedder.probeDimensions(client, openai);
  return {
    embedder: new OpenAiEmbedder(client, openai, dimensions),
    summariser: new OpenAiSummariser(client, openai),
    classifier: new OpenAiGateClassifier(client, openai),
    extractor: new OpenAiExtractor(client, openai),
  };
}
