import { Code } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import type { LongTermStore, Stores } from "../../src/domain/ports.js";
import { openClient } from "../support/clients.js";
import { expectStatus } from "../support/expect-status.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

const started: TestServer[] = [];
afterAll(async () => {
  for (const server of started) await server.destroy();
});

describe("the embedded default", () => {
  it("keeps every tier across a restart on the same file", async () => {
    const first = await startTestServer();
    const scope = { namespace: "durable", userId: "u1" };
    const { client } = openClient("grpc", first.baseUrl);
    await client.appendMessages({
      scope,
      sessionId: "s",
      messages: [{ role: Role.USER, content: "remember this turn" }],
    });
    await client.setWorking({ scope, taskId: "t", entries: { plan: "step one" }, ttlSeconds: 3600 });
    const { memory } = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "Speaks Portuguese",
    });
    await first.stop();

    const second = await startTestServer({}, { dataDir: first.dataDir });
    started.push(second);
    const again = openClient("grpc", second.baseUrl).client;
    expect((await again.getMessages({ scope, sessionId: "s" })).messages.map((m) => m.content)).toEqual([
      "remember this turn",
    ]);
    expect((await again.getWorking({ scope, taskId: "t" })).state?.entries).toEqual({ plan: "step one" });
    expect((await again.getMemory({ scope, memoryId: memory!.id })).memory?.content).toBe("Speaks Portuguese");
    const recalled = await again.recall({ scope, query: "which language does the user speak" });
    expect(recalled.memories[0]?.memory?.id).toBe(memory!.id);
  });
});

describe("deadlines", () => {
  it("answers DEADLINE_EXCEEDED when a store hangs past the caller's deadline", async () => {
    let release = () => {};
    const hung = new Promise<void>((resolve) => (release = resolve));
    const server = await startTestServer(
      {},
      {
        openStores: (config) =>
          withHungSearch(
            openEmbeddedStores({ path: config.store.sqlitePath, dimensions: config.models.embeddingDimensions }),
            hung,
          ),
      },
    );
    started.push(server);
    try {
      for (const kind of ["grpc", "connect", "grpc-js"] as const) {
        const { client } = openClient(kind, server.baseUrl);
        // The search never returns while the test runs, so an answer at all
        // means the server gave up at the deadline instead of waiting.
        await expectStatus(
          client.recall({ scope: { namespace: "slow", userId: "u" }, query: "anything" }, { timeoutMs: 300 }),
          Code.DeadlineExceeded,
        );
      }
    } finally {
      release();
    }
  });

  it("clamps a deadline above the server's maximum instead of refusing it, on every transport", async () => {
    let release = () => {};
    const hung = new Promise<void>((resolve) => (release = resolve));
    const server = await startTestServer(
      { ENGRAM_MAX_DEADLINE_SECONDS: "1" },
      {
        openStores: (config) =>
          withHungSearch(
            openEmbeddedStores({ path: config.store.sqlitePath, dimensions: config.models.embeddingDimensions }),
            hung,
          ),
      },
    );
    started.push(server);
    try {
      for (const kind of ["grpc", "grpc-js", "connect", "connect-http1", "grpc-web"] as const) {
        const { client, close } = openClient(kind, server.baseUrl);
        // Ten minutes asked, one allowed: the call is served (Ping), and one that hangs ends at the maximum.
        await client.ping({}, { timeoutMs: 600_000 });
        await expectStatus(
          client.recall({ scope: { namespace: "slow", userId: "u" }, query: "anything" }, { timeoutMs: 600_000 }),
          Code.DeadlineExceeded,
        );
        close();
      }
    } finally {
      release();
    }
  });
});

describe("erasure", () => {
  it("lets a Remember already being written finish before ForgetUser erases, so nothing outlives the erasure", async () => {
    let entered = () => {};
    const insertEntered = new Promise<void>((resolve) => (entered = resolve));
    let release = () => {};
    const slowInsert = new Promise<void>((resolve) => (release = resolve));
    const server = await startTestServer(
      {},
      {
        openStores: (config) => {
          const stores = openEmbeddedStores({
            path: config.store.sqlitePath,
            dimensions: config.models.embeddingDimensions,
          });
          const longTerm: LongTermStore = Object.create(stores.longTerm);
          // Settlement writes new memories in one bulk insert.
          longTerm.insertMany = async (records) => {
            entered();
            await slowInsert;
            return stores.longTerm.insertMany(records);
          };
          return { ...stores, longTerm };
        },
      },
    );
    started.push(server);
    const { client } = openClient("grpc", server.baseUrl);
    const scope = { namespace: "erasure", userId: "u1" };
    const remembered = client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "Lives in Porto",
    });
    await insertEntered;
    let erased = false;
    const forgetting = client.forgetUser({ scope }).then((report) => ((erased = true), report));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(erased).toBe(false); // waiting for the write in progress
    release();
    const { memory } = await remembered;
    expect((await forgetting).memoriesDeleted).toBe(1);
    await expectStatus(client.getMemory({ scope, memoryId: memory!.id }), Code.NotFound);
  });
});

/** Stores whose long-term recall read waits for `until`: a backend that hangs. */
function withHungSearch(stores: Stores, until: Promise<void>): Stores {
  const longTerm: LongTermStore = Object.create(stores.longTerm);
  longTerm.candidates = async (scope, search) => {
    await until;
    return stores.longTerm.candidates(scope, search);
  };
  return { ...stores, longTerm };
}
