import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType, RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import type { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { startRedisAndWeaviate } from "../support/backends.js";
import { openClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import type { Client } from "@connectrpc/connect";

/**
 * Two Engram replicas on one Redis and one Weaviate, as the Helm chart runs
 * them, with writers spread over both: each replica's in-process ordering
 * cannot see the other's writes, so only the shared per-user write lock
 * keeps concurrent copies of one fact from becoming several memories.
 */
const backend = startRedisAndWeaviate();
let replicas: TestServer[] = [];
let clients: Client<typeof MemoryService>[] = [];

beforeAll(async () => {
  const env = backend.env();
  replicas = await Promise.all([startTestServer(env), startTestServer(env)]);
  clients = replicas.map((r) => openClient("grpc", r.baseUrl).client);
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.destroy()));
});

const newScope = () => ({ namespace: "replicas", userId: `u-${randomUUID()}` });
const through = (i: number) => clients[i % clients.length]!;

describe("two replicas sharing Redis and Weaviate", () => {
  it("keep nothing on local disk: no embedded database is opened", () => {
    for (const replica of replicas) expect(readdirSync(replica.dataDir)).toEqual([]);
  });

  it("merge concurrent copies of one memory written through both into one", async () => {
    const scope = newScope();
    const written = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        through(i).remember({ scope, type: MemoryType.PREFERENCE, content: "I love jazz records", importance: 0.5 }),
      ),
    );
    expect(new Set(written.map((w) => w.memory!.id)).size).toBe(1);
    expect(written.filter((w) => w.outcome === RememberOutcome.CREATED)).toHaveLength(1);
  });

  it("keep one version of a fact updated concurrently through both", async () => {
    const scope = newScope();
    const employers = ["Acme", "Initech", "Globex", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka"];
    const written = await Promise.all(
      employers.map((employer, i) =>
        through(i).remember({
          scope,
          type: MemoryType.SEMANTIC,
          content: `I work at ${employer}`,
          subject: "employer",
        }),
      ),
    );
    expect(new Set(written.map((w) => w.memory!.id)).size).toBe(1);
    const recalled = await through(0).recall({
      scope,
      query: "where do I work",
      types: [MemoryType.SEMANTIC],
      topK: 20,
      includeSuperseded: true,
    });
    const facts = recalled.memories.filter((m) => m.memory?.subject === "employer");
    expect(facts).toHaveLength(1);
    // The survivor is one of the writes, whole: never a blend of two.
    expect(employers.map((e) => `I work at ${e}`)).toContain(facts[0]!.memory!.content);
  });

  it("count every recall of a memory made through both", async () => {
    const scope = newScope();
    const { memory } = await through(0).remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "My favourite colour is teal",
    });
    const rounds = 10;
    const perRound = 8;
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        Array.from({ length: perRound }, (_, i) => through(i).recall({ scope, query: "favourite colour teal" })),
      );
    }
    await expect
      .poll(async () => (await through(0).getMemory({ scope, memoryId: memory!.id })).memory?.accessCount, {
        timeout: 10_000,
      })
      .toBe(BigInt(rounds * perRound));
  });

  it("lose no message appended to one session through both", async () => {
    const scope = newScope();
    const perReplica = 40;
    await Promise.all(
      Array.from({ length: perReplica * 2 }, (_, i) =>
        through(i).appendMessages({
          scope,
          sessionId: "shared",
          messages: [{ role: Role.USER, content: `message ${i}` }],
        }),
      ),
    );
    const read = await through(1).getMessages({ scope, sessionId: "shared" });
    const contents = read.messages.map((m) => m.content);
    expect(new Set(contents)).toEqual(new Set(Array.from({ length: perReplica * 2 }, (_, i) => `message ${i}`)));
    const sequences = read.messages.map((m) => Number(m.sequence));
    expect(new Set(sequences).size).toBe(sequences.length);
  });
});
