import type { ReplicationConfigCreate } from "weaviate-client";

/** How many replicas must answer a read or acknowledge a write before Weaviate replies. */
export const consistencyLevels = ["ONE", "QUORUM", "ALL"] as const;
export type ConsistencyLevel = (typeof consistencyLevels)[number];

/**
 * How Engram's collections are replicated across a Weaviate cluster, and at
 * which consistency every read and write runs. With `factor` n and QUORUM,
 * a write is acknowledged once ⌊n/2⌋+1 replicas hold it and a read asks as
 * many; any read quorum meets any write quorum, so an acknowledged write is
 * read back while up to ⌈n/2⌉−1 replicas are away (one of three). ONE
 * answers while any replica is up but may read stale or lose a write
 * acknowledged by a replica that then dies; ALL loses nothing but refuses
 * every write while any replica is away.
 */
export interface WeaviateReplication {
  /** Replicas per tenant shard (1 = no replication). Applies when Engram creates a collection. */
  readonly factor: number;
  readonly consistency: ConsistencyLevel;
  /**
   * Weaviate's background repair between replicas (hash-tree comparison):
   * a replica that missed writes while away catches up without anyone
   * reading them. Only meaningful with factor > 1.
   */
  readonly asyncRepair: boolean;
}

export const singleNode: WeaviateReplication = { factor: 1, consistency: "QUORUM", asyncRepair: false };

/**
 * The `replication` part of a collection's definition (a plain object, so
 * config.ts can import this leaf without the Weaviate client).
 */
export function replicationConfig(replication: WeaviateReplication): ReplicationConfigCreate {
  const repair = replication.factor > 1 && replication.asyncRepair;
  return {
    factor: replication.factor,
    // Its hash tree (and how often it compares) is the Weaviate nodes' own
    // setting in this version (ASYNC_REPLICATION_*), not the collection's:
    // see docs/weaviate-replication.md for the per-tenant memory it costs.
    asyncEnabled: repair,
    // A delete (Forget, ForgetUser, eviction) wins over a replica that missed
    // it: repair must never bring a forgotten memory back.
    deletionStrategy: "DeleteOnConflict",
  };
}

/**
 * What differs between an existing collection's replication and the
 * configured one, as a sentence for the start-up error, or undefined.
 * Weaviate does not re-replicate an existing collection by itself, so a
 * collection with fewer replicas than configured would quietly give less
 * than the configured guarantee.
 */
export function replicationMismatch(
  collection: string,
  found: { readonly factor: number },
  replication: WeaviateReplication,
): string | undefined {
  if (found.factor === replication.factor) return undefined;
  return (
    `collection "${collection}" has replication factor ${found.factor}, ENGRAM_WEAVIATE_REPLICATION_FACTOR is ` +
    `${replication.factor} (change the collection's factor in Weaviate, or the setting to match it)`
  );
}
