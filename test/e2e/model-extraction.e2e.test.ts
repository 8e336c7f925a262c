import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { openClient } from "../support/clients.js";
import { startFakeModelServer, type FakeModelServer } from "../support/openai-compatible-server.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import { metricTotal, scrape } from "../support/learning-fixtures.js";

/**
 * Learning with a model (our OpenAI-compatible test server, whose extraction
 * follows a script): corrections in context decide what is stored, malformed
 * output is retried once and then dropped with a metric, never half-applied,
 * and a job interrupted by a restart is finished by the next process, once.
 */
let models: FakeModelServer;
const servers: TestServer[] = [];
const env = () => ({
  ENGRAM_MODEL_PROVIDER: "openai",
  ENGRAM_OPENAI_BASE_URL: models.baseUrl,
  ENGRAM_OPENAI_TIMEOUT_MS: "1000",
  ENGRAM_OPENAI_MAX_RETRIES: "0",
  ENGRAM_SESSION_TOKEN_LIMIT: "150",
  ENGRAM_SUMMARY_MAX_TOKENS: "60",
  ENGRAM_COMPACTION_KEEP_RECENT: "2",
});
beforeAll(async () => {
  models = await startFakeModelServer(64);
});
afterAll(async () => {
  for (const server of servers) await server.destroy();
  await models?.stop();
});
const newScope = () => ({ namespace: "extraction", userId: randomUUID() });
const eventually = { timeout: 45_000, interval: 200 };

describe("learning with a model", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(env());
    servers.push(server);
  });

  it("stores the corrected fact, not the one the user corrected", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const scope = newScope();
    await client.appendMessages({
      scope,
      sessionId: "quiz",
      messages: [
        { role: Role.USER, content: "my home airport is Porto" },
        { role: Role.ASSISTANT, content: "Noted: Porto." },
        { role: Role.USER, content: "No, sorry, it's Lisbon" },
      ],
    });
    const ended = await client.endSession({ scope, sessionId: "quiz" });
    expect(ended.decisions.filter((d) => d.stored)).toHaveLength(1);
    const contents = (await client.recall({ scope, query: "home airport", topK: 10 })).memories.map(
      (m) => m.memory?.content,
    );
    expect(contents).toEqual(["The user's home airport is Lisbon."]);
  });

  it("retries malformed output once, then drops the batch with a metric and writes nothing of it", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const scope = newScope();
    await client.appendMessages({
      scope,
      sessionId: "bad",
      messages: [
        { role: Role.USER, content: "I prefer window seats" },
        { role: Role.USER, content: "my favourite city is Kyoto" },
      ],
    });
    const failuresBefore = metricTotal(await scrape(server), "engram_learning_failures_total");
    const chatsBefore = models.requests.filter((r) => r.path === "/v1/chat/completions").length;
    // The first statement is valid, the second is not: nothing may be applied.
    models.rawChatReply = JSON.stringify({
      memories: [
        {
          content: "The user prefers window seats.",
          type: "preference",
          importance: 0.7,
          subject: "seat",
          occurred_at: "",
          message_ids: ["x"],
        },
        { content: 42, type: "semantic" },
      ],
    });
    try {
      const ended = await client.endSession({ scope, sessionId: "bad" });
      expect(ended.decisions).toEqual([]);
    } finally {
      models.rawChatReply = undefined;
    }
    expect(models.requests.filter((r) => r.path === "/v1/chat/completions").length - chatsBefore).toBe(2);
    expect((await client.recall({ scope, query: "window seats favourite city" })).memories).toEqual([]);
    const body = await scrape(server);
    expect(metricTotal(body, "engram_learning_failures_total") - failuresBefore).toBe(1);
    expect(body).toMatch(/engram_learning_failures_total\{trigger="end",kind="malformed"\} [1-9]/);
  });
});

describe("a restart between queuing a compaction and learning from it", () => {
  it("learns the fact in the next process, once", async () => {
    const scope = newScope();
    const first = await startTestServer(env());
    const { client } = openClient("grpc", first.baseUrl);
    // The model answers after the client gave up: the job fails and stays queued.
    models.chatDelayMs = 3000;
    try {
      await client.appendMessages({
        scope,
        sessionId: "trip",
        messages: [{ role: Role.USER, content: "my home airport is Lisbon" }],
      });
      for (let i = 0; i < 12; i++) {
        await client.appendMessages({
          scope,
          sessionId: "trip",
          messages: [{ role: Role.USER, content: `Turn ${i}: what is there to see in the old town on day ${i}?` }],
        });
      }
      await vi.waitFor(async () => {
        const body = await scrape(first);
        expect(metricTotal(body, "engram_learning_failures_total")).toBeGreaterThan(0);
      }, eventually);
      const session = await client.getMessages({ scope, sessionId: "trip" });
      expect(session.summary).toBeUndefined(); // nothing folded before it was learnt from
    } finally {
      await first.stop();
      models.chatDelayMs = 0;
    }

    const second = await startTestServer(env(), { dataDir: first.dataDir });
    servers.push(second);
    const again = openClient("grpc", second.baseUrl).client;
    await vi.waitFor(async () => {
      const session = await again.getMessages({ scope, sessionId: "trip" });
      expect(session.summary).toBeDefined();
    }, eventually);
    const recalled = (await again.recall({ scope, query: "home airport", topK: 10 })).memories;
    expect(recalled.filter((m) => m.memory?.content === "The user's home airport is Lisbon.")).toHaveLength(1);
    await again.endSession({ scope, sessionId: "trip" });
    const after = (await again.recall({ scope, query: "home airport", topK: 10 })).memories;
    expect(after.filter((m) => m.memory?.content === "The user's home airport is Lisbon.")).toHaveLength(1);
  });
});
