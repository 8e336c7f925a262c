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
import type { RedisClient } from "./lua-script.js";
import { RedisRetrievalLog } from "./redis-retrieval-log.js";
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
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** A session's learning lease: how long it lasts if its holder dies, how long EndSession waits for it. */
  readonly sessionLease?: { readonly leaseMs: number; readonly waitMs: number };
  /** Retrievals kept for ReportUsage: how long, and how many per user. */
  readonly retrievalLog?: { readonly ttlMs: number; readonly maxPerUser: number };
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
export function openRedisStores(config: RedisConfig): RedisStores {
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
      ? new Cluster(
          config.clusterNodes.map((node) => {
            const [host, port] = node.split(":");
            return { host: host!, port: Number(port) };
          }),
          {
            redisOptions: options,
            enableOfflineQueue: false,
            clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
          },
        )
      : new Redis(config.url ?? "redis://127.0.0.1:6379", options);
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
  return {
    connected,
    sessions: new RedisSessionStore(client, keys),
    working: new RedisWorkingStore(client, keys),
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
      name: config.clusterNodes.length > 0 ? "redis-cluster" : "redis",
      check: async () => {
        try {
          return (await client.ping()) === "PONG";
        } catch {
          return false;
        }
      },
    },
    close: async () => {
      client.disconnect();
    },
  };
}
