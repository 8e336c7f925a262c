/**
 * Engram's configuration: read from the environment once, at the entry
 * point, validated and typed, then passed into constructors. A bad value
 * fails start-up with a message naming the variable. Every variable is
 * listed in docs/configuration.md (test/unit/configuration-doc.test.ts checks it).
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { RedisConfig, RedisSentinelConfig } from "./storage/redis/redis-stores.js";
import type { WeaviateConfig } from "./storage/weaviate/weaviate-store.js";
import { consistencyLevels } from "./storage/weaviate/weaviate-replication.js";
import type { OpenAiConfig } from "./models/openai-models.js";
import type { RerankConfig } from "./models/openai-reranker.js";
import type { OnnxEmbedderOptions } from "./models/onnx-embedder.js";
import { limits } from "./domain/limits.js";
import { parseTokenEntries, type TokenEntry } from "./domain/token-entries.js";
import { defaultNetworkLimits, type NetworkLimits } from "./domain/network-limits.js";

export interface Config {
  readonly server: {
    readonly host: string;
    readonly port: number;
    /** Undefined when metrics are disabled; 0 picks a free port. */
    readonly metricsPort: number | undefined;
    /** Listen address of /metrics: loopback by default when callers must authenticate. */
    readonly metricsHost: string;
    readonly shutdownGraceMs: number;
    /** Upper bound for a caller's deadline; longer ones are rejected. */
    readonly maxTimeoutMs: number;
    /** How often backend health is checked. */
    readonly healthCheckIntervalMs: number;
  };
  /** Connection, stream, time and byte bounds of every listener (ENGRAM_NET_*). */
  readonly network: NetworkLimits;
  readonly log: { readonly level: LogLevel };
  /** OpenTelemetry traces, from the standard OTEL_* variables (see src/observability/tracing.ts). */
  readonly tracing: TracingConfig;
  /** The Model Context Protocol front door (see src/mcp). */
  readonly mcp: {
    /** Whether `engram serve` also serves MCP over streamable HTTP. */
    readonly enabled: boolean;
    /** Its own port (HTTP/1.1, TLS when the RPC port has TLS); 0 picks a free port. */
    readonly port: number;
    /** The URL path of the MCP endpoint. */
    readonly path: string;
    /** The scope tools act in unless an HTTP client sends Engram-Namespace / Engram-User-Id. */
    readonly namespace: string;
    readonly userId: string | undefined;
  };
  readonly auth: {
    /** Callers with their hashed tokens; empty means authentication is off. */
    readonly tokens: readonly TokenEntry[];
    /** Allow serving a non-loopback address without authentication. */
    readonly insecure: boolean;
    /** TLS for the RPC port, with client-certificate verification when `clientCaFile` is set. */
    readonly tls:
      { readonly certFile: string; readonly keyFile: string; readonly clientCaFile: string | undefined } | undefined;
    /**
     * mTLS with no tokens file: every verified certificate is an admin of
     * every namespace. Only with ENGRAM_MTLS_ALLOW_ANY_CN=true, said out loud.
     */
    readonly mtlsAllowAnyCn: boolean;
    /** Calls per second per caller (0: unlimited), and the burst above it. */
    readonly ratePerSecond: number;
    readonly rateBurst: number;
  };
  readonly store: {
    /** The embedded database: every tier no other backend is configured for. */
    readonly sqlitePath: string;
    /** Short-term and working memory in Redis, when configured. */
    readonly redis: RedisConfig | undefined;
    /** Long-term memory in Weaviate, when configured. */
    readonly weaviate: WeaviateConfig | undefined;
  };
  readonly models: {
    /**
     * local-onnx (the default): a sentence-embedding model run in-process, no
     * network; local: hashed n-grams, deterministic, nothing to install;
     * openai: an OpenAI-compatible endpoint. Summaries and the gate are local
     * unless openai.
     */
    readonly provider: "local" | "local-onnx" | "openai";
    /** The hashed embedder's vector length; a model's is asked of the model at start-up. */
    readonly embeddingDimensions: number;
    readonly onnx: OnnxEmbedderOptions | undefined;
    readonly openai: OpenAiConfig | undefined;
  };
  readonly shortTerm: {
    readonly sessionTtlSeconds: number;
    readonly tokenLimit: number;
    readonly keepRecent: number;
    readonly summaryMaxTokens: number;
  };
  /** Learning from sessions in the background (see src/domain/session-learning.ts). */
  readonly learning: {
    readonly idleSeconds: number;
    readonly leaseMs: number;
    readonly concurrency: number;
    readonly pollMs: number;
    readonly sweepMs: number;
  };
  readonly working: { readonly defaultTtlSeconds: number };
  readonly ranking: {
    readonly episodicHalfLifeHours: number;
    readonly hybridAlpha: number;
    /** An OpenAI-compatible rerank stage; undefined (the default) ranks offline. */
    readonly rerank: RerankConfig | undefined;
  };
  /** Long-term memory's own rules for writes. */
  readonly longTerm: {
    /** What to do with personal data and credentials in long-term memories (ENGRAM_PII_MODE). */
    readonly piiMode: "redact" | "refuse";
    /** New memories are refused once a user holds this many; 0 for no limit (ENGRAM_MAX_MEMORIES_PER_USER). */
    readonly refuseWritesAbovePerUser: number;
    /** How often recall's access statistics are written back (ENGRAM_ACCESS_FLUSH_MS). */
    readonly accessFlushIntervalMs: number;
    /** Recall queries whose vectors are kept for a repeat (ENGRAM_QUERY_EMBEDDING_CACHE); 0 turns it off. */
    readonly queryEmbeddingCacheEntries: number;
    /** Per-stage timings of recall (ENGRAM_STAGE_TIMINGS); `kill -USR2` logs them (docs/performance.md). */
    readonly stageTimings: boolean;
  };
  /** The default policy of EvictStale and `engram evict` (ENGRAM_EVICTION_*). */
  readonly eviction: {
    readonly scoreThreshold: number;
    readonly halfLifeHours: number;
    readonly minAgeHours: number;
    readonly maxAgeHours: number;
    /** Each run evicts a user's lowest-scoring memories down to this many; 0 for no limit. */
    readonly evictDownToPerUser: number;
    /** Where `engram evict` pushes what each run did (a Prometheus Pushgateway); undefined: nowhere. */
    readonly pushgatewayUrl: string | undefined;
  };
  /** Retrieval-quality monitoring: the retrieval log, metric labels, the recall probe (docs/quality-monitoring.md). */
  readonly quality: QualityConfig;
}

export interface QualityConfig {
  /** How long a retrieval is kept for ReportUsage. */
  readonly retrievalTtlMs: number;
  /** Retrievals kept in the process (embedded backend), oldest dropped first. */
  readonly retrievalMaxEntries: number;
  /** Retrievals kept per user in Redis (Redis backend), oldest dropped first. */
  readonly retrievalMaxPerUser: number;
  /** Namespaces that get their own `namespace` label on quality metrics; the rest share "other". */
  readonly labelledNamespaces: readonly string[];
  readonly probe: {
    /** In-process probe interval; 0: off (the default). */
    readonly intervalMs: number;
    /** An operator's probe set (JSON); undefined: the one shipped with Engram. */
    readonly setFile: string | undefined;
    /** The reserved namespace the probe set is written into. */
    readonly namespace: string;
    /** k of recall@k: how many memories each probe query asks for. */
    readonly topK: number;
  };
}

export interface TracingConfig {
  /** Where spans go; empty when tracing is off. */
  readonly exporters: readonly ("otlp" | "console")[];
  /** The OTLP traces URL; undefined for the exporter's default (http://localhost:4318/v1/traces). */
  readonly otlpTracesUrl: string | undefined;
  readonly serviceName: string;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: (typeof samplers)[number];
  /** The ratio of the traceidratio samplers, 0 to 1. */
  readonly samplerRatio: number;
}

const samplers = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

export type LogLevel = "debug" | "info" | "warn" | "error";

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): Config {
  return loadConfigFrom(new EnvReader(env));
}

function loadConfigFrom(read: EnvReader): Config {
  const dataDir = read.string("ENGRAM_DATA_DIR", ".engram-data");
  const host = read.string("ENGRAM_HOST", "127.0.0.1");
  const auth = readAuth(read);
  const sessionTtlSeconds = read.integer("ENGRAM_SESSION_TTL_SECONDS", 86_400, 1, 30 * 86_400);
  const config: Config = {
    server: {
      host,
      // /metrics has no authentication: behind authentication it stays on loopback unless asked.
      metricsHost: read.string("ENGRAM_METRICS_HOST", callersAuthenticate(auth) ? "127.0.0.1" : host),
      port: read.integer("ENGRAM_PORT", 50051, 0, 65535),
      metricsPort: read.boolean("ENGRAM_METRICS_ENABLED", true)
        ? read.integer("ENGRAM_METRICS_PORT", 9464, 0, 65535)
        : undefined,
      shutdownGraceMs: read.integer("ENGRAM_SHUTDOWN_GRACE_SECONDS", 20, 0, 3600) * 1000,
      maxTimeoutMs: read.integer("ENGRAM_MAX_DEADLINE_SECONDS", 300, 1, 86400) * 1000,
      healthCheckIntervalMs: read.integer("ENGRAM_HEALTH_CHECK_INTERVAL_MS", 5000, 50, 600_000),
    },
    network: readNetwork(read),
    log: { level: read.oneOf("ENGRAM_LOG_LEVEL", ["debug", "info", "warn", "error"], "info") },
    tracing: readTracing(read),
    mcp: readMcp(read),
    auth,
    store: {
      sqlitePath: read.string("ENGRAM_SQLITE_PATH", `${dataDir}/engram.db`),
      redis: readRedis(read),
      weaviate: readWeaviate(read),
    },
    models: readModels(read),
    shortTerm: {
      sessionTtlSeconds,
      tokenLimit: read.integer("ENGRAM_SESSION_TOKEN_LIMIT", 4000, 100, 1_000_000),
      keepRecent: read.integer("ENGRAM_COMPACTION_KEEP_RECENT", 8, 1, 1000),
      summaryMaxTokens: read.integer("ENGRAM_SUMMARY_MAX_TOKENS", 600, 50, 100_000),
    },
    learning: readLearning(read, sessionTtlSeconds),
    working: { defaultTtlSeconds: read.integer("ENGRAM_WORKING_TTL_SECONDS", 3600, 1, 30 * 86_400) },
    ranking: {
      episodicHalfLifeHours: read.integer("ENGRAM_EPISODIC_HALF_LIFE_HOURS", 720, 1, 87_600),
      hybridAlpha: read.number("ENGRAM_HYBRID_ALPHA", 0.5, 0, 1),
      rerank: readRerank(read),
    },
    eviction: {
      scoreThreshold: read.number("ENGRAM_EVICTION_SCORE_THRESHOLD", 0.05, 0, 1),
      halfLifeHours: read.integer("ENGRAM_EVICTION_HALF_LIFE_HOURS", 720, 1, 87_600),
      minAgeHours: read.integer("ENGRAM_EVICTION_MIN_AGE_HOURS", 168, 0, 87_600),
      maxAgeHours: read.integer("ENGRAM_EVICTION_MAX_AGE_HOURS", 0, 0, 87_600),
      evictDownToPerUser: read.integer("ENGRAM_EVICTION_MAX_MEMORIES_PER_USER", 0, 0, 100_000_000),
      pushgatewayUrl: read.url("ENGRAM_PUSHGATEWAY_URL"),
    },
    longTerm: {
      piiMode: read.oneOf("ENGRAM_PII_MODE", ["redact", "refuse"], "redact"),
      refuseWritesAbovePerUser: read.integer("ENGRAM_MAX_MEMORIES_PER_USER", 100_000, 0, 100_000_000),
      accessFlushIntervalMs: read.integer("ENGRAM_ACCESS_FLUSH_MS", 1000, 10, 600_000),
      queryEmbeddingCacheEntries: read.integer("ENGRAM_QUERY_EMBEDDING_CACHE", 1024, 0, 1_000_000),
      stageTimings: read.boolean("ENGRAM_STAGE_TIMINGS", false),
    },
    quality: readQuality(read),
  };
  if (config.shortTerm.summaryMaxTokens >= config.shortTerm.tokenLimit) {
    throw new ConfigError("ENGRAM_SUMMARY_MAX_TOKENS", "must be less than ENGRAM_SESSION_TOKEN_LIMIT");
  }
  return config;
}

/** ENGRAM_NET_*: durations in seconds (fractions allowed), sizes in MiB. */
function readNetwork(read: EnvReader): NetworkLimits {
  const d = defaultNetworkLimits;
  const seconds = (name: string, fallbackMs: number) =>
    Math.round(read.number(name, fallbackMs / 1000, 0.1, 86_400) * 1000);
  return {
    maxConnections: read.integer("ENGRAM_NET_MAX_CONNECTIONS", d.maxConnections, 1, 1_000_000),
    maxConnectionsPerAddress: read.integer(
      "ENGRAM_NET_MAX_CONNECTIONS_PER_ADDRESS",
      d.maxConnectionsPerAddress,
      0,
      1_000_000,
    ),
    maxStreams: read.integer("ENGRAM_NET_MAX_STREAMS", d.maxStreams, 1, 1_000_000),
    maxUnauthenticatedCalls: read.integer(
      "ENGRAM_NET_MAX_UNAUTHENTICATED_CALLS",
      d.maxUnauthenticatedCalls,
      1,
      1_000_000,
    ),
    headersTimeoutMs: seconds("ENGRAM_NET_HEADERS_TIMEOUT_SECONDS", d.headersTimeoutMs),
    bodyTimeoutMs: seconds("ENGRAM_NET_BODY_TIMEOUT_SECONDS", d.bodyTimeoutMs),
    idleTimeoutMs: seconds("ENGRAM_NET_IDLE_TIMEOUT_SECONDS", d.idleTimeoutMs),
    slowReaderTimeoutMs: seconds("ENGRAM_NET_SLOW_READER_TIMEOUT_SECONDS", d.slowReaderTimeoutMs),
    maxBufferedRequestBytes:
      read.integer("ENGRAM_NET_MAX_BUFFERED_REQUEST_MIB", d.maxBufferedRequestBytes / 2 ** 20, 8, 1_048_576) * 2 ** 20,
    sessionMemoryMiB: read.integer("ENGRAM_NET_SESSION_MEMORY_MIB", d.sessionMemoryMiB, 1, 4096),
  };
}

/**
 * Idle sessions must be learnt from before their TTL deletes them, so the
 * idle time defaults to 30 minutes or half the TTL, whichever is shorter,
 * and a set value must be shorter than the TTL.
 */
function readLearning(read: EnvReader, sessionTtlSeconds: number): Config["learning"] {
  const fallback = Math.max(1, Math.min(1800, Math.floor(sessionTtlSeconds / 2)));
  const idleSeconds = read.integer("ENGRAM_LEARNING_IDLE_SECONDS", fallback, 1, 30 * 86_400);
  if (idleSeconds >= sessionTtlSeconds) {
    throw new ConfigError(
      "ENGRAM_LEARNING_IDLE_SECONDS",
      `must be less than ENGRAM_SESSION_TTL_SECONDS (${sessionTtlSeconds}): an idle session is learnt from before it expires`,
    );
  }
  return {
    idleSeconds,
    leaseMs: read.integer("ENGRAM_LEARNING_LEASE_SECONDS", 120, 1, 3600) * 1000,
    concurrency: read.integer("ENGRAM_LEARNING_CONCURRENCY", 2, 1, 64),
    pollMs: read.integer("ENGRAM_LEARNING_POLL_MS", 200, 10, 60_000),
    // Often enough that a session is swept well inside the margin between idle time and TTL.
    sweepMs: Math.max(1000, Math.min(60_000, Math.floor((idleSeconds * 1000) / 4))),
  };
}

function readRedis(read: EnvReader): RedisConfig | undefined {
  const url = read.optional("ENGRAM_REDIS_URL");
  const clusterNodes = read.list("ENGRAM_REDIS_CLUSTER_NODES");
  const sentinelNodes = read.list("ENGRAM_REDIS_SENTINELS");
  const modes = [
    url !== undefined && "ENGRAM_REDIS_URL",
    clusterNodes.length > 0 && "ENGRAM_REDIS_CLUSTER_NODES",
    sentinelNodes.length > 0 && "ENGRAM_REDIS_SENTINELS",
  ].filter((name): name is string => typeof name === "string");
  if (modes.length === 0) return undefined;
  if (modes.length > 1) {
    throw new ConfigError(
      modes[1]!,
      `set only one of ENGRAM_REDIS_URL, ENGRAM_REDIS_CLUSTER_NODES and ENGRAM_REDIS_SENTINELS, got ${modes.join(" and ")}`,
    );
  }
  if (url !== undefined && !/^rediss?:\/\//.test(url)) {
    throw new ConfigError("ENGRAM_REDIS_URL", `must start with redis:// or rediss://, got "${url}"`);
  }
  for (const [name, nodes] of [
    ["ENGRAM_REDIS_CLUSTER_NODES", clusterNodes],
    ["ENGRAM_REDIS_SENTINELS", sentinelNodes],
  ] as const) {
    for (const node of nodes) {
      if (!/^[^:\s]+:\d{1,5}$/.test(node)) {
        throw new ConfigError(name, `must be a comma-separated list of host:port, got "${node}"`);
      }
    }
  }
  const keyPrefix = read.string("ENGRAM_REDIS_KEY_PREFIX", "engram");
  if (/[{}\s]/.test(keyPrefix)) throw new ConfigError("ENGRAM_REDIS_KEY_PREFIX", "must not contain braces or spaces");
  // With Sentinel there is a replica to promote, and Redis replicates asynchronously: without waiting for
  // one, a failover drops the writes the old primary acknowledged in its last moments (74 of 156 in one
  // planned failover under test traffic). Engram promises that nothing acknowledged is lost, so Sentinel
  // mode waits for one replica unless told otherwise; a standalone Redis has no replica to wait for.
  const waitReplicas = read.integer("ENGRAM_REDIS_WAIT_REPLICAS", sentinelNodes.length > 0 ? 1 : 0, 0, 16);
  if (waitReplicas > 0 && clusterNodes.length > 0) {
    throw new ConfigError(
      "ENGRAM_REDIS_WAIT_REPLICAS",
      "is supported with ENGRAM_REDIS_URL or ENGRAM_REDIS_SENTINELS, not with a Redis Cluster",
    );
  }
  return {
    url,
    clusterNodes,
    sentinel: sentinelNodes.length > 0 ? readSentinel(read, sentinelNodes) : undefined,
    keyPrefix,
    commandTimeoutMs: read.integer("ENGRAM_REDIS_COMMAND_TIMEOUT_MS", 2000, 10, 600_000),
    connectTimeoutMs: read.integer("ENGRAM_REDIS_CONNECT_TIMEOUT_MS", 2000, 10, 600_000),
    erasureRewriteIntervalMs: read.integer("ENGRAM_REDIS_ERASURE_REWRITE_SECONDS", 300, 0, 30 * 86_400) * 1000,
    replicaAcknowledgement: {
      replicas: waitReplicas,
      timeoutMs: read.integer("ENGRAM_REDIS_WAIT_TIMEOUT_MS", 1000, 1, 60_000),
    },
  };
}

function readSentinel(read: EnvReader, nodes: readonly string[]): RedisSentinelConfig {
  const masterName = read.optional("ENGRAM_REDIS_SENTINEL_MASTER");
  if (masterName === undefined) {
    throw new ConfigError(
      "ENGRAM_REDIS_SENTINEL_MASTER",
      "names the master group the sentinels watch; it is required with ENGRAM_REDIS_SENTINELS",
    );
  }
  return {
    nodes,
    masterName,
    password: read.optional("ENGRAM_REDIS_PASSWORD"),
    sentinelPassword: read.optional("ENGRAM_REDIS_SENTINEL_PASSWORD"),
  };
}

/**
 * The OpenTelemetry SDK's standard variables, as far as Engram uses them.
 * Tracing is off unless OTEL_TRACES_EXPORTER names an exporter or an OTLP
 * endpoint is set; the OTLP exporter reads its own OTEL_EXPORTER_OTLP_*
 * settings (endpoint, headers, timeout, compression).
 */
function readTracing(read: EnvReader): TracingConfig {
  const tracesEndpoint = read.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const baseEndpoint = read.optional("OTEL_EXPORTER_OTLP_ENDPOINT");
  const endpoint = tracesEndpoint ?? baseEndpoint;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new ConfigError(
      tracesEndpoint ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT",
      `must be an http:// or https:// URL, got "${endpoint}"`,
    );
  }
  const named = read.list("OTEL_TRACES_EXPORTER");
  for (const name of named) {
    if (!["otlp", "console", "none"].includes(name)) {
      throw new ConfigError("OTEL_TRACES_EXPORTER", `must list otlp, console or none, got "${name}"`);
    }
  }
  const disabled = read.boolean("OTEL_SDK_DISABLED", false);
  const exporters = disabled
    ? []
    : named.length > 0
      ? (named.filter((n) => n !== "none") as ("otlp" | "console")[])
      : endpoint !== undefined
        ? (["otlp"] as const)
        : [];
  const protocol = read.optional("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? read.optional("OTEL_EXPORTER_OTLP_PROTOCOL");
  if (exporters.includes("otlp") && protocol !== undefined && protocol !== "http/protobuf") {
    throw new ConfigError(
      read.optional("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
        : "OTEL_EXPORTER_OTLP_PROTOCOL",
      `Engram exports OTLP as http/protobuf, got "${protocol}"`,
    );
  }
  const resourceAttributes: Record<string, string> = {};
  for (const pair of read.list("OTEL_RESOURCE_ATTRIBUTES")) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new ConfigError("OTEL_RESOURCE_ATTRIBUTES", `must be key=value pairs, got "${pair}"`);
    try {
      resourceAttributes[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw new ConfigError("OTEL_RESOURCE_ATTRIBUTES", `has a badly percent-encoded value in "${pair}"`);
    }
  }
  return {
    exporters,
    // The base endpoint gets the signal's path appended; a traces endpoint is used as is (the OTLP spec).
    otlpTracesUrl: tracesEndpoint ?? (baseEndpoint ? `${baseEndpoint.replace(/\/+$/, "")}/v1/traces` : undefined),
    serviceName: read.string("OTEL_SERVICE_NAME", resourceAttributes["service.name"] ?? "engram"),
    resourceAttributes,
    sampler: read.oneOf("OTEL_TRACES_SAMPLER", samplers, "parentbased_always_on"),
    samplerRatio: read.number("OTEL_TRACES_SAMPLER_ARG", 1, 0, 1),
  };
}

function readMcp(read: EnvReader): Config["mcp"] {
  const path = read.string("ENGRAM_MCP_PATH", "/mcp");
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(path)) {
    throw new ConfigError("ENGRAM_MCP_PATH", `must be a URL path starting with "/", got "${path}"`);
  }
  const namespace = read.string("ENGRAM_MCP_NAMESPACE", "default");
  if (!limits.namespacePattern.test(namespace)) {
    throw new ConfigError("ENGRAM_MCP_NAMESPACE", `must match ${limits.namespacePattern.source}, got "${namespace}"`);
  }
  const userId = read.optional("ENGRAM_MCP_USER_ID");
  if (userId !== undefined && !limits.idPattern.test(userId)) {
    throw new ConfigError("ENGRAM_MCP_USER_ID", `must match ${limits.idPattern.source}, got "${userId}"`);
  }
  return {
    enabled: read.boolean("ENGRAM_MCP_ENABLED", false),
    port: read.integer("ENGRAM_MCP_PORT", 50053, 0, 65535),
    path,
    namespace,
    userId,
  };
}

function readAuth(read: EnvReader): Config["auth"] {
  const file = read.optional("ENGRAM_AUTH_TOKENS_FILE");
  let tokens: TokenEntry[] = [];
  if (file !== undefined) {
    try {
      tokens = parseTokenEntries(readFileSync(file, "utf8"), file);
    } catch (error) {
      throw new ConfigError("ENGRAM_AUTH_TOKENS_FILE", error instanceof Error ? error.message : String(error));
    }
    if (tokens.length === 0) throw new ConfigError("ENGRAM_AUTH_TOKENS_FILE", `${file} lists no callers`);
  }
  const ratePerSecond = read.number("ENGRAM_RATE_LIMIT_PER_SECOND", 0, 0, 1_000_000);
  const certFile = read.optional("ENGRAM_TLS_CERT_FILE");
  const keyFile = read.optional("ENGRAM_TLS_KEY_FILE");
  const clientCaFile = read.optional("ENGRAM_TLS_CLIENT_CA_FILE");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      certFile === undefined ? "ENGRAM_TLS_CERT_FILE" : "ENGRAM_TLS_KEY_FILE",
      "set both ENGRAM_TLS_CERT_FILE and ENGRAM_TLS_KEY_FILE, or neither",
    );
  }
  if (clientCaFile !== undefined && certFile === undefined) {
    throw new ConfigError(
      "ENGRAM_TLS_CLIENT_CA_FILE",
      "client certificates need TLS: set ENGRAM_TLS_CERT_FILE and ENGRAM_TLS_KEY_FILE",
    );
  }
  for (const [name, file] of [
    ["ENGRAM_TLS_CERT_FILE", certFile],
    ["ENGRAM_TLS_KEY_FILE", keyFile],
    ["ENGRAM_TLS_CLIENT_CA_FILE", clientCaFile],
  ] as const) {
    if (file !== undefined && !existsSync(file)) throw new ConfigError(name, `no such file: ${file}`);
  }
  const mtlsAllowAnyCn = read.boolean("ENGRAM_MTLS_ALLOW_ANY_CN", false);
  if (clientCaFile !== undefined && tokens.length === 0 && !mtlsAllowAnyCn) {
    throw new ConfigError(
      "ENGRAM_MTLS_ALLOW_ANY_CN",
      "client certificates without ENGRAM_AUTH_TOKENS_FILE would make every holder of a certificate from " +
        "ENGRAM_TLS_CLIENT_CA_FILE an admin of every namespace: list callers with their certificateCn in a tokens " +
        "file, or set ENGRAM_MTLS_ALLOW_ANY_CN=true to accept that explicitly",
    );
  }
  if (mtlsAllowAnyCn && (clientCaFile === undefined || tokens.length > 0)) {
    throw new ConfigError(
      "ENGRAM_MTLS_ALLOW_ANY_CN",
      "applies only to client certificates (ENGRAM_TLS_CLIENT_CA_FILE) with no ENGRAM_AUTH_TOKENS_FILE; " +
        "with a tokens file, a certificate grants what its certificateCn entry grants",
    );
  }
  return {
    tokens,
    tls: certFile && keyFile ? { certFile, keyFile, clientCaFile } : undefined,
    mtlsAllowAnyCn,
    insecure: read.boolean("ENGRAM_INSECURE", false),
    ratePerSecond,
    rateBurst: read.integer("ENGRAM_RATE_LIMIT_BURST", Math.max(1, Math.ceil(ratePerSecond * 2)), 1, 10_000_000),
  };
}

/**
 * The server refuses to listen beyond loopback without authentication,
 * unless insecure mode is set explicitly. (Only `serve` listens; the evict
 * command shares the configuration without this check.)
 */
export function checkListenerSecurity(config: Config): void {
  if (!callersAuthenticate(config.auth) && !config.auth.insecure && !isLoopback(config.server.host)) {
    throw new ConfigError(
      "ENGRAM_HOST",
      `refusing to serve ${config.server.host} without authentication: set ENGRAM_AUTH_TOKENS_FILE, ` +
        "or ENGRAM_INSECURE=true to allow unauthenticated callers explicitly",
    );
  }
}

/** Whether every caller must prove who it is: by a bearer token or a verified client certificate. */
function callersAuthenticate(auth: Config["auth"]): boolean {
  return auth.tokens.length > 0 || auth.tls?.clientCaFile !== undefined;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The optional rerank stage (domain/rerank.ts): on only when ENGRAM_RERANK_URL is set. */
function readRerank(read: EnvReader): RerankConfig | undefined {
  const baseUrl = read.url("ENGRAM_RERANK_URL");
  if (baseUrl === undefined || baseUrl === "") return undefined;
  return {
    baseUrl,
    model: read.string("ENGRAM_RERANK_MODEL", "rerank"),
    apiKey: read.optional("ENGRAM_RERANK_API_KEY"),
    depth: read.integer("ENGRAM_RERANK_DEPTH", 20, 2, 100),
    timeoutMs: read.integer("ENGRAM_RERANK_TIMEOUT_MS", 2000, 50, 60_000),
  };
}

function readModels(read: EnvReader): Config["models"] {
  const provider = read.oneOf("ENGRAM_MODEL_PROVIDER", ["local-onnx", "local", "openai"], "local-onnx");
  const embeddingDimensions = read.integer("ENGRAM_EMBEDDING_DIMENSIONS", 256, 16, 8192);
  if (provider === "local") return { provider, embeddingDimensions, onnx: undefined, openai: undefined };
  if (provider === "local-onnx") return { provider, embeddingDimensions, onnx: readOnnx(read), openai: undefined };
  const baseUrl = read.optional("ENGRAM_OPENAI_BASE_URL");
  if (baseUrl === undefined)
    throw new ConfigError("ENGRAM_OPENAI_BASE_URL", "is required when ENGRAM_MODEL_PROVIDER=openai");
  if (!/^https?:\/\//.test(baseUrl))
    throw new ConfigError("ENGRAM_OPENAI_BASE_URL", `must be an http(s) URL, got "${baseUrl}"`);
  return {
    provider,
    embeddingDimensions,
    onnx: undefined,
    openai: {
      baseUrl,
      // Local servers (vLLM, Ollama) accept any key; the client insists on one.
      apiKey: read.string("ENGRAM_OPENAI_API_KEY", "unused"),
      embeddingModel: read.string("ENGRAM_OPENAI_EMBEDDING_MODEL", "text-embedding-3-small"),
      chatModel: read.string("ENGRAM_OPENAI_CHAT_MODEL", "gpt-4o-mini"),
      timeoutMs: read.integer("ENGRAM_OPENAI_TIMEOUT_MS", 15_000, 100, 600_000),
      maxRetries: read.integer("ENGRAM_OPENAI_MAX_RETRIES", 2, 0, 10),
      embeddingBatchSize: read.integer("ENGRAM_OPENAI_EMBEDDING_BATCH_SIZE", 64, 1, 2048),
    },
  };
}

/** Where scripts/fetch-embedding-model.sh installs the model by default (the same cache as the other scripts'). */
function readOnnx(read: EnvReader): OnnxEmbedderOptions {
  const cacheDir =
    read.optional("ENGRAM_CACHE_DIR") ??
    join(read.optional("XDG_CACHE_HOME") ?? join(read.string("HOME", homedir()), ".cache"), "engram");
  return {
    modelDir: read.string("ENGRAM_ONNX_MODEL_DIR", join(cacheDir, "models", "all-minilm-l6-v2-int8")),
    batchSize: read.integer("ENGRAM_ONNX_BATCH_SIZE", 32, 1, 1024),
    threads: read.integer("ENGRAM_ONNX_THREADS", 1, 1, 64),
    loneThreads: read.integer("ENGRAM_ONNX_LONE_QUERY_THREADS", 1, 1, 64),
  };
}

function readWeaviate(read: EnvReader): WeaviateConfig | undefined {
  const url = read.optional("ENGRAM_WEAVIATE_URL");
  if (url === undefined) return undefined;
  if (!/^https?:\/\/[^/]+/.test(url))
    throw new ConfigError("ENGRAM_WEAVIATE_URL", `must be an http:// or https:// URL, got "${url}"`);
  const grpcAddress = read.optional("ENGRAM_WEAVIATE_GRPC_ADDRESS");
  if (grpcAddress !== undefined && !/^[^:\s]+:\d{1,5}$/.test(grpcAddress)) {
    throw new ConfigError("ENGRAM_WEAVIATE_GRPC_ADDRESS", `must be host:port, got "${grpcAddress}"`);
  }
  const collection = read.string("ENGRAM_WEAVIATE_COLLECTION", "EngramMemory");
  if (!/^[A-Z][A-Za-z0-9_]{0,99}$/.test(collection)) {
    throw new ConfigError(
      "ENGRAM_WEAVIATE_COLLECTION",
      "must start with an upper-case letter, then letters, digits or '_'",
    );
  }
  return {
    url,
    grpcAddress,
    apiKey: read.optional("ENGRAM_WEAVIATE_API_KEY"),
    collection,
    timeoutMs: read.integer("ENGRAM_WEAVIATE_TIMEOUT_MS", 5000, 100, 600_000),
    batchSize: read.integer("ENGRAM_WEAVIATE_BATCH_SIZE", 100, 1, 10_000),
    tenantSleep: {
      // A day: users active today stay loaded; the many who are not hold no open files or memory.
      idleMs: read.integer("ENGRAM_WEAVIATE_TENANT_IDLE_SECONDS", 86_400, 0, 365 * 86_400) * 1000,
      checkIntervalMs: read.integer("ENGRAM_WEAVIATE_TENANT_SLEEP_CHECK_SECONDS", 600, 1, 86_400) * 1000,
      restoreOnClose: false,
    },
    replication: {
      factor: read.integer("ENGRAM_WEAVIATE_REPLICATION_FACTOR", 1, 1, 15),
      consistency: read.oneOf("ENGRAM_WEAVIATE_CONSISTENCY_LEVEL", consistencyLevels, "QUORUM"),
      asyncRepair: read.boolean("ENGRAM_WEAVIATE_ASYNC_REPAIR", true),
    },
  };
}

function readQuality(read: EnvReader): QualityConfig {
  const labelledNamespaces = read.list("ENGRAM_QUALITY_NAMESPACES");
  // Each listed namespace is one more series per quality metric: keep the list short.
  if (labelledNamespaces.length > 20) {
    throw new ConfigError(
      "ENGRAM_QUALITY_NAMESPACES",
      `must list at most 20 namespaces, got ${labelledNamespaces.length}`,
    );
  }
  const probeNamespace = read.string("ENGRAM_PROBE_NAMESPACE", "engram-probe");
  if (!limits.namespacePattern.test(probeNamespace)) {
    throw new ConfigError("ENGRAM_PROBE_NAMESPACE", `must be a valid namespace, got "${probeNamespace}"`);
  }
  return {
    retrievalTtlMs: read.integer("ENGRAM_RETRIEVAL_LOG_TTL_SECONDS", 900, 1, 86_400) * 1000,
    retrievalMaxEntries: read.integer("ENGRAM_RETRIEVAL_LOG_MAX_ENTRIES", 10_000, 1, 10_000_000),
    retrievalMaxPerUser: read.integer("ENGRAM_RETRIEVAL_LOG_MAX_PER_USER", 1000, 1, 1_000_000),
    labelledNamespaces,
    probe: {
      intervalMs: read.integer("ENGRAM_PROBE_INTERVAL_SECONDS", 0, 0, 86_400) * 1000,
      setFile: read.optional("ENGRAM_PROBE_SET"),
      namespace: probeNamespace,
      topK: read.integer("ENGRAM_PROBE_TOP_K", 5, 1, 100),
    },
  };
}

/** Variables of the build and test tooling (scripts/), not of the service. */
const toolingVariables = new Set(["ENGRAM_CACHE_DIR", "ENGRAM_NODE_VERSION", "ENGRAM_PYTHON_VENV"]);

/**
 * ENGRAM_* variables that are set but that this configuration never reads: a
 * misspelling (ENGRAM_REDIS_UR would otherwise fall back to the embedded
 * store in silence), or a setting that does not apply (an OpenAI key with
 * the local provider). The entry points log each as a warning.
 */
export function unreadVariables(env: Env = process.env): string[] {
  const read = new EnvReader(env);
  try {
    loadConfigFrom(read);
  } catch {
    // A bad value stops start-up on its own, naming the variable.
  }
  return Object.keys(env)
    .filter((name) => name.startsWith("ENGRAM_") && !toolingVariables.has(name) && !read.names.has(name))
    .sort();
}

class EnvReader {
  /** Every name asked for, set or not. */
  readonly names = new Set<string>();

  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    this.names.add(name);
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  optional(name: string): string | undefined {
    return this.raw(name);
  }

  /** An optional http(s) URL. */
  url(name: string): string | undefined {
    const value = this.raw(name);
    if (value !== undefined && !/^https?:\/\/[^/\s]+/.test(value)) {
      throw new ConfigError(name, `must be an http:// or https:// URL, got "${value}"`);
    }
    return value;
  }

  list(name: string): string[] {
    return (this.raw(name) ?? "")
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value) || parsed < min || parsed > max) {
      throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${value}"`);
    }
    return parsed;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new ConfigError(name, `must be a number from ${min} to ${max}, got "${value}"`);
    }
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === "true" || value === "1") return true;
    if (value === "false" || value === "0") return false;
    throw new ConfigError(name, `must be true or false, got "${value}"`);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigError(name, `must be one of ${allowed.join(", ")}, got "${value}"`);
    }
    return value as T;
  }
}
