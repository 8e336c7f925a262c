import { UnavailableError } from "../../domain/errors.js";
import type { Cluster, Redis } from "ioredis";

/**
 * Redis replicates asynchronously: a write the primary has applied and
 * acknowledged can be lost if the primary dies before a replica copies it
 * and a replica is then promoted. With a replica acknowledgement policy,
 * every write script is followed by `WAIT replicas timeoutMs` on the same
 * connection, so Engram acknowledges a write only once that many replicas
 * hold it (and every write sent before it on that connection).
 *
 * When fewer replicas answer in time the write is on the primary but not
 * safe from a failover: the caller gets UNAVAILABLE and may retry. Retrying
 * is safe because every Redis write is idempotent for a retry (appends carry
 * an append key, working-memory sets and deletes converge).
 */
export interface ReplicaAcknowledgement {
  /** How many replicas must hold each write before it is acknowledged. */
  readonly replicas: number;
  /** How long to wait for them. */
  readonly timeoutMs: number;
}

/** The client type of lua-script.ts, restated: that module imports this one. */
type RedisClient = Redis | Cluster;

const policies = new WeakMap<RedisClient, ReplicaAcknowledgement>();

/** Makes every write script run on `client` wait for replicas (see LuaScript). */
export function requireReplicaAcknowledgement(client: RedisClient, policy: ReplicaAcknowledgement): void {
  policies.set(client, policy);
}

/** Waits for the replicas the client's policy asks for; does nothing without one. */
export async function awaitReplicaAcknowledgement(client: RedisClient): Promise<void> {
  const policy = policies.get(client);
  if (policy === undefined) return;
  const acknowledged = Number(await client.call("WAIT", policy.replicas, policy.timeoutMs));
  if (acknowledged < policy.replicas) {
    throw new UnavailableError(
      "redis",
      `the write reached the primary but only ${acknowledged} of ${policy.replicas} replicas acknowledged it within ` +
        `${policy.timeoutMs} ms (ENGRAM_REDIS_WAIT_REPLICAS); it may be lost on failover, so retry it`,
    );
  }
}
