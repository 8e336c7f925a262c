import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limits } from "../../src/domain/limits.js";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { randomWords } from "../support/adversarial-texts.js";
import { openClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Recall on the default configuration runs its full-text match on the
 * embedded store's read thread (SqliteDatabase.readAll). Through the gRPC
 * API it must answer exactly what the same server answers with the match
 * on its main connection: a second server on the same data directory,
 * opened with the read thread off, is the reference. Both see the same
 * file and the same model, and neither records access (which would change
 * the ranking between the two calls).
 */
let server: TestServer;
let reference: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  reference = await startTestServer(
    {},
    {
      dataDir: server.dataDir,
      openStores: (config, dimensions) =>
        openEmbeddedStores({ path: config.store.sqlitePath, dimensions, readThread: false }),
    },
  );
});
afterAll(async () => {
  await reference?.stop();
  await server?.destroy();
});

const words = ["flights", "Lisbon", "aisle", "vegetarian", "jazz", "desk", "morning", "roast", "fiction", "train"];

describe("Recall through the read thread", () => {
  it("answers the same memories, in the same order with the same scores, as the main connection", async () => {
    const client = openClient("grpc", server.baseUrl).client;
    const direct = openClient("grpc", reference.baseUrl).client;
    const scope = { namespace: "read-thread", userId: randomUUID() };
    const types = [MemoryType.SEMANTIC, MemoryType.EPISODIC, MemoryType.PREFERENCE];
    await client.importMemories({
      scope,
      memories: Array.from({ length: 120 }, (_, i) => ({
        type: types[i % 3]!,
        content: `${words[i % 10]} ${words[(i * 3) % 10]} ${randomWords(i + 1, 40)} (note ${i})`,
        ...(i % 4 === 0 ? { speaker: i % 8 === 0 ? "Ana" : "Ben" } : {}),
      })),
    });
    const queries = [
      ...words.map((w, i) => ({ query: `What about ${w} and ${words[(i + 4) % 10]}?`, topK: 10 })),
      { query: "the morning train to Lisbon", topK: 20, types: [MemoryType.EPISODIC] },
      { query: "jazz roast fiction", topK: 5, speakers: ["Ana"] },
      { query: "vegetarian desk", topK: 10, includeSuperseded: true },
      // The longest query the limits allow: hundreds of terms.
      { query: randomWords(99, limits.queryBytes - 16) + " flights", topK: 10 },
    ];
    let answered = 0;
    for (const request of queries) {
      const ask = async (c: typeof client) =>
        (await c.recall({ scope, skipAccessTracking: true, ...request })).memories.map((m) => [
          m.memory!.id,
          Math.round(m.score * 1e6),
          Math.round(m.relevance * 1e6),
        ]);
      const viaThread = await ask(client);
      expect(viaThread).toEqual(await ask(direct));
      answered += viaThread.length;
    }
    // The comparison compared something.
    expect(answered).toBeGreaterThan(50);
  });
});
