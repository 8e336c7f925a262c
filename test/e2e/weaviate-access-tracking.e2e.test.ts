import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { startRedisAndWeaviate } from "../support/backends.js";
import { openClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Access statistics on Redis + Weaviate (written by per-memory merges of
 * three properties, docs/performance.md): every return of every concurrent
 * recall is counted, eventually, and what is queued when the server stops
 * is written before it exits.
 */
const backend = startRedisAndWeaviate();
const servers: TestServer[] = [];

afterAll(async () => {
  for (const server of servers) await server.destroy();
});

const start = async (extra: Record<string, string> = {}) => {
  const server = await startTestServer({ ...backend.env(), ...extra });
  servers.push(server);
  return { server, client: openClient("grpc", server.baseUrl).client };
};

const facts = ["Allergic to peanuts", "Plays the cello on Sundays", "Commutes by the 8am train"];

describe("access tracking on Weaviate", () => {
  it("counts every return of concurrent recalls by two users, and leaves the memories' vectors as they were", async () => {
    const { client } = await start();
    const users = [0, 1].map(() => ({ namespace: "access", userId: `u-${randomUUID()}` }));
    const ids = new Map<string, string[]>();
    for (const scope of users) {
      const { results } = await client.importMemories({
        scope,
        memories: facts.map((content) => ({ type: MemoryType.SEMANTIC, content })),
      });
      ids.set(
        scope.userId,
        results.map((r) => r.memoryId),
      );
    }
    const look = (scope: (typeof users)[number]) =>
      client.recall({ scope, query: "peanut allergy", topK: 3, skipAccessTracking: true });
    const before = await look(users[0]!);
    expect(before.memories).toHaveLength(3);

    const rounds = 8;
    await Promise.all(
      Array.from({ length: rounds }, () =>
        users.map((scope) => client.recall({ scope, query: "peanut allergy", topK: 3 })),
      ).flat(),
    );
    for (const scope of users) {
      for (const memoryId of ids.get(scope.userId)!) {
        await expect
          .poll(async () => (await client.getMemory({ scope, memoryId })).memory?.accessCount, { timeout: 30_000 })
          .toBe(BigInt(rounds));
      }
    }
    // Relevance is the vector's cosine and BM25: unchanged means the merge kept each vector.
    const after = await look(users[0]!);
    expect(after.memories.map((m) => [m.memory?.id, m.relevance])).toEqual(
      before.memories.map((m) => [m.memory?.id, m.relevance]),
    );
  });

  it("writes what is queued when the server stops: nothing recorded is lost at shutdown", async () => {
    // A flush interval longer than the test: only the shutdown's flush can write these.
    const first = await start({ ENGRAM_ACCESS_FLUSH_MS: "600000" });
    const scope = { namespace: "access", userId: `u-${randomUUID()}` };
    const { results } = await first.client.importMemories({
      scope,
      memories: facts.map((content) => ({ type: MemoryType.SEMANTIC, content })),
    });
    for (let i = 0; i < 5; i++) await first.client.recall({ scope, query: "cello", topK: 3 });
    const pending = await first.client.getMemory({ scope, memoryId: results[0]!.memoryId });
    expect(pending.memory?.accessCount).toBe(0n);
    await first.server.stop();

    const second = await start();
    for (const { memoryId } of results) {
      const { memory } = await second.client.getMemory({ scope, memoryId });
      expect(memory?.accessCount).toBe(5n);
      expect(memory?.lastAccessedAt).toBeDefined();
    }
  });
});
