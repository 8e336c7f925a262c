import { randomUUID } from "node:crypto";
import type { WeaviateClient } from "weaviate-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType, RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import type { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { tenantName } from "../../src/storage/weaviate/weaviate-long-term-store.js";
import type { Client } from "@connectrpc/connect";
import { serverBackends, startEngramOnBackend, weaviateEnv } from "../support/backends.js";
import { openClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import { connectToWeaviate } from "../support/weaviate-direct.js";
import { startWeaviate, type WeaviateServer } from "../support/weaviate-server.js";

/**
 * Recall's lexical signal finds the one memory holding a rare word of the
 * query, however many memories share its common words, and finds it alike
 * whether the store holds the memory in memory or has written it to disk.
 *
 * Weaviate's BlockMax WAND (its BM25 for collections made since 1.30) did
 * not before 1.37.12 / 1.38.3: a word still in the memtable counted for
 * nothing in its pruning bound (weaviate/weaviate#11780), a word in a single
 * document of a segment neither (#11772), and a freshly flushed segment
 * bounded its blocks with k1 and b swapped until compaction rewrote it
 * (#12022). Once more documents than the limit matched a common word, the
 * rare word's memory was silently left out, depending on when Weaviate had
 * last flushed and compacted: storing every LoCoMo turn scored 0.61 to 0.78
 * recall_any@10 on runs of one build (docs/recall-quality.md).
 */
const backends = serverBackends();

/** 81 memories sharing the query's common words ("canal", "walk"); none is a near-duplicate of another. */
const days = [
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
  "Sunday",
  "a rainy morning",
  "a cold evening",
];
const sights = [
  "two swans",
  "a narrowboat painted red",
  "the lock keeper",
  "kids fishing",
  "a heron",
  "ducklings",
  "the old mill",
  "joggers",
  "a kingfisher",
];
const walks = days.flatMap((day) => sights.map((sight) => `A canal walk on ${day}: we passed ${sight}.`));
/** The one memory with the query's rare word, and nothing else in common with it (far down the vector ranking). */
const rare = "Kestrelvane sent the invoice twice, so I paid it only once.";
const query = "Did Kestrelvane come up on a canal walk?";

async function rememberAll(client: Client<typeof MemoryService>, scope: { namespace: string; userId: string }) {
  for (const content of [...walks, rare]) {
    const reply = await client.remember({ scope, type: MemoryType.EPISODIC, content });
    expect(reply.outcome).toBe(RememberOutcome.CREATED);
  }
}

const recalled = async (client: Client<typeof MemoryService>, scope: { namespace: string; userId: string }) =>
  (await client.recall({ scope, query, topK: 5, skipAccessTracking: true })).memories.map((m) => m.memory!.content);

describe.each(backends)("the lexical signal on %s", (_, backendEnv) => {
  const { client } = startEngramOnBackend(backendEnv);

  it("finds the memory with a rare word of the query among many that share its common words, right after it is written", async () => {
    const scope = { namespace: "lexical", userId: randomUUID() };
    await rememberAll(client, scope);
    expect(await recalled(client, scope)).toContain(rare);
  });
});

describe("the lexical signal on Weaviate, before and after Weaviate writes the memories to disk", () => {
  let weaviateServer: WeaviateServer;
  let server: TestServer;
  let direct: WeaviateClient;
  const collection = "LexicalMemory";

  beforeAll(async () => {
    weaviateServer = await startWeaviate();
    server = await startTestServer({ ...weaviateEnv(weaviateServer), ENGRAM_WEAVIATE_COLLECTION: collection });
    direct = await connectToWeaviate(weaviateServer);
  });
  afterAll(async () => {
    await server?.destroy();
    await direct?.close();
    await weaviateServer?.stop();
  });

  it("answers a recall the same from Weaviate's memtable as from its flushed segments", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const scope = { namespace: "lexical", userId: randomUUID() };
    await rememberAll(client, scope);
    const fresh = await recalled(client, scope);
    expect(fresh).toContain(rare);
    // Putting the tenant to sleep (what ENGRAM_WEAVIATE_TENANT_IDLE_SECONDS does to idle users) shuts
    // its shard down, which flushes the memtables to segments; the next Recall wakes it.
    const tenants = direct.collections.get(collection).tenants;
    await tenants.update([{ name: tenantName(scope), activityStatus: "INACTIVE" }]);
    expect((await tenants.getByName(tenantName(scope)))?.activityStatus).toBe("INACTIVE");
    expect(await recalled(client, scope)).toEqual(fresh);
  });
});
