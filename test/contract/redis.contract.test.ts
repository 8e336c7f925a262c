import { afterAll, beforeAll } from "vitest";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { openRedisStores } from "../../src/storage/redis/redis-stores.js";
import type { Stores } from "../../src/domain/ports.js";
import { dimensions } from "../support/memory-fixtures.js";
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from "../support/redis-servers.js";
import { describeStorageContract } from "./storage-contract.js";

let standalone: RedisServer;
let cluster: RedisCluster;
beforeAll(async () => {
  [standalone, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
}, 60_000);
afterAll(async () => {
  await standalone?.stop();
  await cluster?.stop();
});

async function redisStores(config: { url?: string; clusterNodes?: readonly string[] }): Promise<Stores> {
  const redis = openRedisStores({
    url: config.url,
    clusterNodes: config.clusterNodes ?? [],
    keyPrefix: `contract-${Date.now()}`,
    commandTimeoutMs: 5000,
    connectTimeoutMs: 5000,
  });
  if (!(await redis.connected)) throw new Error("Redis did not become ready");
  // Long-term memory is not Redis's tier; an in-memory embedded store fills the slot.
  const embedded = openEmbeddedStores({ path: ":memory:", dimensions });
  return {
    sessions: redis.sessions,
    working: redis.working,
    longTerm: embedded.longTerm,
    learningQueue: redis.learningQueue,
    sessionLease: redis.sessionLease,
    backends: { sessions: "redis", working: "redis", longTerm: "embedded" },
    health: [redis.health],
    close: async () => {
      await redis.close();
      await embedded.close();
    },
  };
}

describeStorageContract("Redis (standalone)", {
  tiers: new Set(["sessions", "working"]),
  open: () => redisStores({ url: standalone.url }),
});

describeStorageContract("Redis Cluster (3 masters)", {
  tiers: new Set(["sessions", "working"]),
  open: () => redisStores({ clusterNodes: cluster.nodes }),
});
