import { Cluster, Redis, type RedisOptions } from "ioredis";
import type {
  HealthCheck,
  LearningQueue,
  SessionLease,
  SessionStore,
  UserWriteLock,
  WorkingStore,
} from "../../domain/ports.js";
import type { RetrievalLog } from "../../domain/retrieval-log.js";
import type { Scope } from "../../domain/types.js";
import type { RedisClient } from "./lua-script.js";
import { RedisErasureRewrite, type ErasureRewriteLog } from "./redis-erasure-rewrite.js";
import { RedisRetrievalLog } from "./redis-retrieval-log.js";
import { requireReplicaAcknowledgement, type ReplicaAcknowledgement } from "./replica-acknowledgement.js";
import { RedisKeys } from "./redis-keys.js";
import { RedisLearningQueue, RedisSessionLease } from "./redis-learning-queue.js";
import { RedisSessionStore } from "./redis-session-store.js";
import { RedisUserWriteLock } from "./redis-user-write-lock.js";
import { RedisWorkingStore } from "./redis-working-store.js";

export interface RedisConfig {
  /** A standalone Redis, e.g. redis://:password@host:6379/0. */
  readonly url: string | undefined;
  /** Redis Cluster seed nodes as host:port; used instead of `url` when set. */
  readonly clusterNodes: readonly string[];
  /** A primary with replicas watched by Sentinel; used instead of `url` when set. */
  readonly sentinel?: RedisSentinelConfig | undefined;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /**
   * After each write, wait until this many replicas hold it (Redis WAIT), so
   * a failover cannot lose an acknowledged write. 0 (the default) replies as
   * soon as the primary has applied the write.
   */
  readonly replicaAcknowledgement?: ReplicaAcknowledgement | undefined;
  /** A session's learning lease: how long it lasts if its holder dies, how long EndSession waits for it. */
  readonly sessionLease?: { readonly leaseMs: number; readonly waitMs: number };
  /** Retrievals kept for ReportUsage: how long, and how many per user. */
  readonly retrievalLog?: { readonly ttlMs: number; readonly maxPerUser: number };
  /**
   * After ForgetUser, rewrite the persistence files (BGREWRITEAOF, BGSAVE) at
   * most once per this interval; 0 leaves it to the operator.
   */
  readonly erasureRewriteIntervalMs?: number;
}

export interface RedisSentinelConfig {
  /** Sentinels as host:port; any one that answers names the current primary. */
  readonly nodes: readonly string[];
  /** The master group name the sentinels monitor. */
  readonly masterName: string;
  /** The data nodes' password (AUTH), if they require one. */
  readonly password: string | undefined;
  /** The sentinels' own password, if they require one. */
  readonly sentinelPassword: string | undefined;
}

export interface RedisStores {
  /**
   * Resolves once connected, or after the connect timeout if Redis is not
   * reachable yet: the service then starts NOT_SERVING and recovers when
   * Redis appears.
   */
  readonly connected: Promise<boolean>;
  readonly sessions: SessionStore;
  readonly working: WorkingStore;
  /** Long-term writes of one user, serialised across every replica sharing this Redis. */
  readonly userWriteLock: UserWriteLock;
  readonly learningQueue: LearningQueue;
  readonly sessionLease: SessionLease;
  readonly retrievalLog: RetrievalLog;
  readonly health: HealthCheck;
  readonly client: RedisClient;
  close(): Promise<void>;
}

/**
 * Short-term and working memory on one Redis or a Redis Cluster.
 *
 * Connection policy, chosen so an outage costs callers an UNAVAILABLE and
 * never a hang or a duplicate: commands are not queued while disconnected
 * (they fail at once), a command without a reply fails after
 * `commandTimeoutMs`, and nothing is re-sent automatically after a
 * reconnect, because a lost reply may belong to an append that did apply.
 * Reconnection itself is automatic, with backoff, forever.
 */
export function openRedisStores(config: RedisConfig, logger: ErasureRewriteLog = silent): RedisStores {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.commandTimeoutMs,
    connectTimeout: config.connectTimeoutMs,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: false,
  };
  const client: RedisClient =
    config.clusterNodes.length > 0
      ? new Cluster(config.clusterNodes.map(hostAndPort), {
          redisOptions: options,
          enableOfflineQueue: false,
          clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
        })
      : config.sentinel !== undefined
        ? new Redis({ ...options, ...sentinelOptions(config.sentinel) })
        : new Redis(config.url ?? "redis://127.0.0.1:6379", options);
  if (config.replicaAcknowledgement !== undefined && config.replicaAcknowledgement.replicas > 0) {
    requireReplicaAcknowledgement(client, config.replicaAcknowledgement);
  }
  // Connection errors surface through the health check and failing calls;
  // without a listener ioredis would print each reconnect attempt.
  client.on("error", () => {});
  const keys = new RedisKeys(config.keyPrefix);
  const connected = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), config.connectTimeoutMs * 2);
    client.once("ready", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  const erasures = new RedisErasureRewrite(client, config.erasureRewriteIntervalMs ?? 300_000, logger);
  const erased = () => erasures.erased();
  return {
    connected,
    sessions: afterErasure(new RedisSessionStore(client, keys), erased),
    working: afterErasure(new RedisWorkingStore(client, keys), erased),
    userWriteLock: new RedisUserWriteLock(client, keys),
    learningQueue: new RedisLearningQueue(client, keys),
    sessionLease: new RedisSessionLease(client, keys, config.sessionLease ?? { leaseMs: 120_000, waitMs: 30_000 }),
    retrievalLog: new RedisRetrievalLog(
      client,
      keys,
      config.retrievalLog?.ttlMs ?? 900_000,
      config.retrievalLog?.maxPerUser ?? 1000,
    ),
    client,
    health: {
      name:
        config.clusterNodes.length > 0 ? "redis-cluster" : config.sentinel !== undefined ? "redis-sentinel" : "redis",
      check: async () => {
        try {
          return (await client.ping()) === "PONG";
        } catch {
          return false;
        }
      },
    },
    close: async () => {
      erasures.close();
      client.disconnect();
    },
  };
}

const silent: ErasureRewriteLog = { debug: () => {}, warn: () => {} };

/** Reports each ForgetUser of a store once its keys are deleted. */
function afterErasure<T extends { deleteUser(scope: Scope): Promise<number> }>(store: T, erased: () => void): T {
  const deleteUser = store.deleteUser.bind(store);
  store.deleteUser = async (scope) => {
    const deleted = await deleteUser(scope);
    erased();
    return deleted;
  };
  return store;
}

function hostAndPort(node: string): { host: string; port: number } {
  const [host, port] = node.split(":");
  return { host: host!, port: Number(port) };
}

/**
 * Sentinel mode: ioredis asks the sentinels for the current primary on every
 * (re)connect and, with the failover detector, drops its connection as soon
 * as a sentinel announces a new primary. A write that reaches a demoted
 * primary fails with READONLY (UNAVAILABLE to the caller, never applied), and
 * that error also triggers a reconnect, which finds the new primary.
 */
function sentinelOptions(sentinel: RedisSentinelConfig): RedisOptions {
  return {
    sentinels: sentinel.nodes.map(hostAndPort),
    name: sentinel.masterName,
    role: "master",
    failoverDetector: true,
    reconnectOnError: (error) => /^READONLY/.test(error.message),
    sentinelRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...(sentinel.password !== undefined && { password: sentinel.password }),
    ...(sentinel.sentinelPassword !== undefined && { sentinelPassword: sentinel.sentinelPassword }),
  };
}
