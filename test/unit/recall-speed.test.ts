import { describe, expect, it } from "vitest";
import { QueryEmbeddingCache } from "../../src/domain/query-embedding-cache.js";
import { InferenceBatcher } from "../../src/models/inference-batcher.js";
import { LocalEmbedder } from "../../src/models/local-embedder.js";

describe("InferenceBatcher", () => {
  it("sends a lone item at once and batches what arrives while a batch runs, answering each in order", async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const batcher = new InferenceBatcher<number, number>(async (batch) => {
      batches.push([...batch]);
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return batch.map((n) => n * 10);
    }, 3);
    const first = batcher.submit(1);
    await Promise.resolve();
    const rest = [2, 3, 4, 5].map((n) => batcher.submit(n));
    await Promise.resolve();
    expect(batches).toEqual([[1]]);
    expect(batcher.waiting).toBe(4);
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40, 50]);
    // At most three per batch: the fourth and fifth queued items go together after the first three.
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
  });

  it("fails every item of a failed batch and carries on with the next", async () => {
    let calls = 0;
    const batcher = new InferenceBatcher<number, number>(async (batch) => {
      if (calls++ === 0) throw new Error("model thread died");
      return batch.map((n) => n);
    }, 8);
    await expect(batcher.submit(1)).rejects.toThrow("model thread died");
    expect(await batcher.submit(2)).toBe(2);
  });
});

describe("QueryEmbeddingCache", () => {
  it("answers a repeated query from the cache with the model's own vector, and forgets the least recently used", async () => {
    const model = new LocalEmbedder(64);
    const cache = new QueryEmbeddingCache(model, 2);
    const [a] = await cache.embed(["aisle seats"]);
    expect(a).toEqual((await model.embed(["aisle seats"]))[0]);
    expect((await cache.embed(["aisle seats"]))[0]).toBe(a);
    await cache.embed(["window seats"]);
    await cache.embed(["aisle seats"]);
    await cache.embed(["the 8am train"]); // evicts "window seats", the least recently used
    await cache.embed(["aisle seats"]);
    await cache.embed(["window seats"]);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 3, misses: 4 });
  });

  it("passes batches through, and caches nothing at size 0", async () => {
    const off = new QueryEmbeddingCache(new LocalEmbedder(32), 0);
    await off.embed(["coffee"]);
    await off.embed(["coffee"]);
    const on = new QueryEmbeddingCache(new LocalEmbedder(32), 4);
    await on.embed(["coffee", "tea"]);
    await on.embed(["coffee", "tea"]);
    expect([off.hits, off.misses, on.hits, on.misses]).toEqual([0, 0, 0, 0]);
  });
});
