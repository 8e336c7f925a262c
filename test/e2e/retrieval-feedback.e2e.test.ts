import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { openClient } from "../support/clients.js";
import { expectStatus } from "../support/expect-status.js";
import { startRedis, type RedisServer } from "../support/redis-servers.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

const metric = async (server: TestServer, pattern: RegExp) => {
  const body = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
  return Number(pattern.exec(body)?.[1] ?? Number.NaN);
};

async function seed(server: TestServer, scope: { namespace: string; userId: string }) {
  const { client } = openClient("grpc", server.baseUrl);
  for (const content of [
    "Keeps bees in two hives behind the house",
    "Harvested honey from the bee hives in August",
    "Sells the beeswax candles at the market",
  ]) {
    await client.remember({ scope, type: MemoryType.SEMANTIC, content });
  }
  return client;
}

describe("ReportUsage tied to a retrieval (embedded, the default)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.destroy());

  it("scores the used memories by the rank Recall returned them at, once per retrieval", async () => {
    const scope = { namespace: "feedback", userId: randomUUID() };
    const client = await seed(server, scope);
    const recalled = await client.recall({ scope, query: "bee hives honey", topK: 3 });
    expect(recalled.memories).toHaveLength(3);
    expect(recalled.retrievalId).toMatch(/^r_[A-Za-z0-9_-]{24}$/);
    const second = recalled.memories[1]!.memory!.id;

    const report = await client.reportUsage({ scope, retrievalId: recalled.retrievalId, usedIds: [second] });
    expect(report.precision).toBeCloseTo(1 / 3);
    expect(report.reciprocalRank).toBeCloseTo(0.5);
    expect(report.ndcg).toBeCloseTo(1 / Math.log2(3));
    expect(report.usedRanks).toEqual([2]);
    expect(report.counted).toBe(true);

    const reportsBefore = await metric(
      server,
      /engram_retrieval_reports_total\{purpose="recall",namespace="\*",hit="true"\} (\d+)/,
    );
    expect(reportsBefore).toBe(1);
    expect(await metric(server, /engram_retrieval_reciprocal_rank_sum\{purpose="recall",namespace="\*"\} (\S+)/)).toBe(
      0.5,
    );
    expect(await metric(server, /engram_retrieval_used_by_rank_total\{purpose="recall",rank="2"\} (\d+)/)).toBe(1);
    expect(await metric(server, /engram_usage_used_total (\d+)/)).toBe(1);

    // A retried report gets the same figures and is not counted again.
    const again = await client.reportUsage({ scope, retrievalId: recalled.retrievalId, usedIds: [second] });
    expect(again).toMatchObject({ usedRanks: [2], counted: false });
    expect(
      await metric(server, /engram_retrieval_reports_total\{purpose="recall",namespace="\*",hit="true"\} (\d+)/),
    ).toBe(1);
  });

  it("refuses unknown retrievals, other scopes' retrievals, and ids the retrieval did not return", async () => {
    const scope = { namespace: "feedback", userId: randomUUID() };
    const client = await seed(server, scope);
    const { retrievalId } = await client.recall({ scope, query: "beeswax candles", topK: 2 });
    await expectStatus(
      client.reportUsage({ scope, retrievalId: "r_never-issued", usedIds: [] }),
      Code.NotFound,
      /retrieval "r_never-issued" was not found: retrievals are kept 900 s in this replica .*report sooner/,
    );
    await expectStatus(
      client.reportUsage({ scope: { ...scope, userId: randomUUID() }, retrievalId, usedIds: [] }),
      Code.NotFound,
    );
    await expectStatus(
      client.reportUsage({ scope, retrievalId, usedIds: ["not-returned"] }),
      Code.InvalidArgument,
      /^used_ids\[0\]: "not-returned" was not returned by this retrieval/,
    );
    await expectStatus(
      client.reportUsage({ scope, retrievalId, returnedIds: ["x"], usedIds: [] }),
      Code.InvalidArgument,
      /^returned_ids: must be empty with retrieval_id/,
    );
    await expectStatus(
      client.reportUsage({ scope, retrievalId: "r".repeat(65), usedIds: [] }),
      Code.InvalidArgument,
      /^retrieval_id: must be at most 64 bytes/,
    );
    // Nothing used is a miss, counted as such.
    const miss = await client.reportUsage({ scope, retrievalId, usedIds: [] });
    expect(miss).toMatchObject({ precision: 0, reciprocalRank: 0, ndcg: 0, counted: true });
    expect(
      await metric(server, /engram_retrieval_reports_total\{purpose="recall",namespace="\*",hit="false"\} (\d+)/),
    ).toBeGreaterThanOrEqual(1);
  });

  it("names AssembleContext's placed memories by a retrieval id, labelled purpose=assemble", async () => {
    const scope = { namespace: "feedback", userId: randomUUID() };
    const client = await seed(server, scope);
    let retrievalId = "";
    const placed: string[] = [];
    for await (const event of client.assembleContext({ scope, query: "bee hives", tokenBudget: 1000 })) {
      if (event.event.case === "section") placed.push(...event.event.value.items.map((i) => i.id));
      if (event.event.case === "summary") retrievalId = event.event.value.retrievalId;
    }
    expect(placed.length).toBeGreaterThan(0);
    expect(retrievalId).not.toBe("");
    const report = await client.reportUsage({ scope, retrievalId, usedIds: [placed[0]!] });
    expect(report.usedRanks).toEqual([1]);
    expect(
      await metric(server, /engram_retrieval_reports_total\{purpose="assemble",namespace="\*",hit="true"\} (\d+)/),
    ).toBe(1);
  });

  it("returns no retrieval id when nothing was returned", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const empty = await client.recall({ scope: { namespace: "feedback", userId: randomUUID() }, query: "anything" });
    expect(empty).toMatchObject({ memories: [], retrievalId: "" });
  });
});

describe("ReportUsage tied to a retrieval (Redis: any replica may take the report)", () => {
  let redis: RedisServer;
  let servers: TestServer[];
  beforeAll(async () => {
    redis = await startRedis();
    // The hashed embedder: this is about where retrievals are kept, and two model loads would only add time.
    const env = {
      ENGRAM_REDIS_URL: redis.url,
      ENGRAM_QUALITY_NAMESPACES: "feedback-redis",
      ENGRAM_MODEL_PROVIDER: "local",
    };
    servers = [await startTestServer(env), await startTestServer(env)];
  });
  afterAll(async () => {
    for (const s of servers ?? []) await s.destroy();
    await redis?.stop();
  });

  it("scores a report sent to another replica than the one that served the recall", async () => {
    const scope = { namespace: "feedback-redis", userId: randomUUID() };
    const client = await seed(servers[0]!, scope);
    const recalled = await client.recall({ scope, query: "honey harvest", topK: 3 });
    const { client: other } = openClient("grpc", servers[1]!.baseUrl);
    const used = recalled.memories[0]!.memory!.id;
    const report = await other.reportUsage({ scope, retrievalId: recalled.retrievalId, usedIds: [used] });
    expect(report).toMatchObject({ usedRanks: [1], reciprocalRank: 1, counted: true });
    expect(await other.reportUsage({ scope, retrievalId: recalled.retrievalId, usedIds: [used] })).toMatchObject({
      counted: false,
    });
    // Counted on the replica that took the report, under the namespace's own label.
    expect(
      await metric(
        servers[1]!,
        /engram_retrieval_reports_total\{purpose="recall",namespace="feedback-redis",hit="true"\} (\d+)/,
      ),
    ).toBe(1);
    await expectStatus(
      other.reportUsage({ scope, retrievalId: "r_never-issued", usedIds: [] }),
      Code.NotFound,
      /kept 900 s in Redis/,
    );
  });

  it("still answers a Recall while Redis is down, without a retrieval id; reports are UNAVAILABLE", async () => {
    const scope = { namespace: "feedback-redis", userId: randomUUID() };
    const client = await seed(servers[0]!, scope);
    const kept = await client.recall({ scope, query: "honey harvest", topK: 3 });
    await redis.kill();
    try {
      const recalled = await client.recall({ scope, query: "honey harvest", topK: 3 });
      expect(recalled.memories).toHaveLength(3);
      expect(recalled.retrievalId).toBe("");
      await expectStatus(client.reportUsage({ scope, retrievalId: kept.retrievalId, usedIds: [] }), Code.Unavailable);
    } finally {
      await redis.restart();
    }
  });
});
