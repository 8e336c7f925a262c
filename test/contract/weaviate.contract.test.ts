import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import type { Stores } from "../../src/domain/ports.js";
import { openWeaviateStores } from "../../src/storage/weaviate/weaviate-store.js";
import { dimensions, embedder, freshScope, memoryRecord } from "../support/memory-fixtures.js";
import { startWeaviate, type WeaviateServer } from "../support/weaviate-server.js";
import { describeStorageContract } from "./storage-contract.js";

let weaviate: WeaviateServer;
beforeAll(async () => {
  weaviate = await startWeaviate();
});
afterAll(() => weaviate?.stop());

const config = (collection: string, batchSize = 200) => ({
  url: weaviate.url,
  grpcAddress: weaviate.grpcAddress,
  apiKey: undefined,
  collection,
  timeoutMs: 10_000,
  batchSize,
});

async function weaviateStores(collection = "ContractMemory", batchSize?: number): Promise<Stores> {
  const store = await openWeaviateStores(config(collection, batchSize), dimensions);
  // Sessions and working memory are not Weaviate's tiers; an in-memory embedded store fills the slots.
  const embedded = openEmbeddedStores({ path: ":memory:", dimensions });
  return {
    sessions: embedded.sessions,
    working: embedded.working,
    longTerm: store.longTerm,
    learningQueue: embedded.learningQueue,
    backends: { sessions: "embedded", working: "embedded", longTerm: "weaviate" },
    health: [store.health],
    close: async () => {
      await store.close();
      await embedded.close();
    },
  };
}

describeStorageContract("Weaviate", { tiers: new Set(["longTerm"]), open: () => weaviateStores() });

describe("Weaviate specifics", () => {
  it("creates the collection idempotently when replicas start at once", async () => {
    // All three open (none fails on "already exists"), and they share one collection: what one
    // writes the others read, and a fourth replica opening later finds it too.
    const replicas = await Promise.all([0, 1, 2].map(() => openWeaviateStores(config("RaceMemory"), dimensions)));
    const scope = freshScope();
    const record = memoryRecord(scope, "written by the first replica");
    try {
      await replicas[0]!.longTerm.insertMany([record]);
      for (const replica of replicas)
        expect((await replica.longTerm.get(scope, record.id))?.content).toBe(record.content);
      const later = await openWeaviateStores(config("RaceMemory"), dimensions);
      expect((await later.longTerm.get(scope, record.id))?.content).toBe(record.content);
      await later.close();
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it("refuses to start on a collection made for another embedding dimension", async () => {
    (await openWeaviateStores(config("DimensionMemory"), dimensions)).close();
    await expect(openWeaviateStores(config("DimensionMemory"), dimensions * 2)).rejects.toThrow(
      /DimensionMemory.*embedding dimensions=128.*found.*embedding dimensions=64/,
    );
  });

  it("writes in chunks and reports a partial batch failure per object", async () => {
    // Chunks of two: the failure is in the second chunk.
    const stores = await weaviateStores("ContractMemory", 2);
    try {
      const scope = freshScope();
      const good = [memoryRecord(scope, "first"), memoryRecord(scope, "second"), memoryRecord(scope, "third")];
      const bad = { ...memoryRecord(scope, "wrong dimension"), embedding: new Float32Array(dimensions + 3).fill(0.1) };
      const result = await stores.longTerm.insertMany([...good, bad]);
      expect(result.failed.map((f) => f.id)).toEqual([bad.id]);
      for (const r of good) expect(await stores.longTerm.get(scope, r.id)).toBeDefined();
    } finally {
      await stores.close();
    }
  });

  it("never returns user B's memories to user A, even for an identical query", async () => {
    const stores = await weaviateStores();
    try {
      const alice = freshScope("iso");
      const bob = freshScope("iso");
      await stores.longTerm.insert(memoryRecord(bob, "Bob's account number ends in 1234"));
      await stores.longTerm.insert(memoryRecord(alice, "Alice likes tea"));
      const [query] = await embedder.embed(["Bob's account number ends in 1234"]);
      const hits = await stores.longTerm.search(alice, {
        embedding: query!,
        text: "Bob's account number ends in 1234",
        alpha: 0.5,
        types: [],
        includeSuperseded: true,
        limit: 100,
      });
      expect(hits.map((h) => h.record.content)).toEqual(["Alice likes tea"]);
    } finally {
      await stores.close();
    }
  });
});
