import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";
import { openClient } from "../support/clients.js";
import { startFakeModelServer, type FakeModelServer } from "../support/openai-compatible-server.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import { metricTotal, scrape } from "../support/learning-fixtures.js";

/**
 * Learning with a model (our OpenAI-compatible test server, whose extraction
 * follows a script), on the embedded default and on Redis + Weaviate:
 * corrections in context decide what is stored, a memory keeps who said
 * what it was learnt from, malformed output is retried once and then dropped
 * with a metric, never half-applied, and a job interrupted by a crash is
 * finished by the next process, learning from each message once.
 */
const backends = serverBackends();
let models: FakeModelServer;
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
  await models?.stop();
});
const newScope = () => ({ namespace: "extraction", userId: randomUUID() });
const eventually = { timeout: 45_000, interval: 200 };
const chatRequests = () => models.requests.filter((r) => r.path === "/v1/chat/completions").length;
const extractionRequests = () =>
  models.requests.filter((r) => JSON.stringify(r.body.response_format ?? {}).includes('"memory_extraction"')).length;

describe.each(backends)("learning with a model on %s", (_, backendEnv) => {
  const engram = startEngramOnBackend(backendEnv, env);
  const { client } = engram;

  it("stores the corrected fact, not the one the user corrected", async () => {
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

  it("keeps the speaker of what a statement was learnt from, when one person said all of it", async () => {
    const scope = newScope();
    const { messageIds: ids } = await client.appendMessages({
      scope,
      sessionId: "two-people",
      messages: [
        { role: Role.USER, name: "Maya", content: "my home airport is Porto" },
        { role: Role.USER, name: "Tomas", content: "my favourite city is Kyoto" },
        { role: Role.USER, name: "Maya", content: "I prefer night trains" },
      ],
    });
    // The script cites one message per statement; the model may cite several, by one speaker or by two.
    const statement = (content: string, subject: string, messageIds: string[]) => ({
      content,
      type: "semantic",
      importance: 0.7,
      subject,
      occurred_at: "",
      message_ids: messageIds,
    });
    models.rawChatReply = JSON.stringify({
      memories: [
        statement("Maya's home airport is Porto.", "home airport", [ids[0]!]),
        statement("Tomas's favourite city is Kyoto.", "favourite city", [ids[1]!]),
        statement("Maya flies from Porto but likes to travel by night train.", "travel", [ids[0]!, ids[2]!]),
        statement("Maya and Tomas are planning a trip from Porto to Kyoto.", "trip", [ids[0]!, ids[1]!]),
      ],
    });
    const ended = await client
      .endSession({ scope, sessionId: "two-people" })
      .finally(() => (models.rawChatReply = undefined));
    expect(ended.decisions.map((d) => d.stored)).toEqual([true, true, true, true]);
    const speakers = await Promise.all(
      ended.decisions.map(async (d) => (await client.getMemory({ scope, memoryId: d.memoryId })).memory?.speaker),
    );
    expect(speakers).toEqual(["Maya", "Tomas", "Maya", ""]);
    const onlyTomas = await client.recall({ scope, query: "favourite city", speakers: ["Tomas"] });
    expect(onlyTomas.memories.map((m) => m.memory?.content)).toEqual(["Tomas's favourite city is Kyoto."]);
  });

  it("retries malformed output once, then drops the batch with a metric and writes nothing of it", async () => {
    const scope = newScope();
    await client.appendMessages({
      scope,
      sessionId: "bad",
      messages: [
        { role: Role.USER, content: "I prefer window seats" },
        { role: Role.USER, content: "my favourite city is Kyoto" },
      ],
    });
    const failuresBefore = metricTotal(await scrape(engram.server), "engram_learning_failures_total");
    const chatsBefore = chatRequests();
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
    expect(chatRequests() - chatsBefore).toBe(2);
    expect((await client.recall({ scope, query: "window seats favourite city" })).memories).toEqual([]);
    const body = await scrape(engram.server);
    expect(metricTotal(body, "engram_learning_failures_total") - failuresBefore).toBe(1);
    expect(body).toMatch(/engram_learning_failures_total\{trigger="end",kind="malformed"\} [1-9]/);
  });
});

describe.each(backends)("a crash between queuing a compaction and learning from it on %s", (_, backendEnv) => {
  const dataDir = mkdtempSync(join(tmpdir(), "engram-crash-"));
  let second: TestServer | undefined;
  afterAll(async () => {
    await second?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("is finished by the next process, which learns from every message once", async () => {
    const scope = newScope();
    const shared = {
      ...backendEnv(),
      ...env(),
      // Its own Redis keys: no other server of this file may take the job the crashed process held.
      ENGRAM_REDIS_KEY_PREFIX: `crash-${randomUUID()}`,
      // Redis hands a job on, and frees its session, once its holder's lease has run out.
      ENGRAM_LEARNING_LEASE_SECONDS: "5",
    };
    // A separate process, so that it can die with SIGKILL mid-job: no shutdown hook runs.
    const first = await spawnEngram({ ...shared, ENGRAM_DATA_DIR: dataDir, ENGRAM_OPENAI_TIMEOUT_MS: "60000" });
    const sessionId = "trip";
    let fact: string;
    let appended = 0;
    try {
      const { client } = openClient("grpc", first.baseUrl);
      // The model holds the extraction call open: the job is claimed and in progress when the process dies.
      models.chatDelayMs = 20_000;
      const extractionsBefore = extractionRequests();
      fact = (
        await client.appendMessages({
          scope,
          sessionId,
          messages: [{ role: Role.USER, content: "my home airport is Lisbon" }],
        })
      ).messageIds[0]!;
      appended++;
      for (let i = 0; i < 12; i++) {
        await client.appendMessages({
          scope,
          sessionId,
          messages: [{ role: Role.USER, content: `Turn ${i}: what is there to see in the old town on day ${i}?` }],
        });
        appended++;
      }
      await vi.waitFor(() => expect(extractionRequests()).toBeGreaterThan(extractionsBefore), eventually);
      const session = await client.getMessages({ scope, sessionId });
      expect(session.summary).toBeUndefined(); // nothing folded before it was learnt from
      expect(metricTotal(await first.metrics(), "engram_learning_messages_total")).toBe(0);
    } finally {
      await first.kill();
      models.chatDelayMs = 0;
    }

    second = await startTestServer(shared, { dataDir });
    const again = openClient("grpc", second.baseUrl).client;
    await vi.waitFor(async () => {
      const session = await again.getMessages({ scope, sessionId });
      expect(session.summary).toBeDefined();
    }, eventually);
    await again.endSession({ scope, sessionId });
    // Every message learnt from once: by the compaction job the next process took over, then by EndSession.
    expect(metricTotal(await scrape(second), "engram_learning_messages_total")).toBe(appended);
    const recalled = (await again.recall({ scope, query: "home airport", topK: 10 })).memories;
    const airport = recalled.filter((m) => m.memory?.content === "The user's home airport is Lisbon.");
    expect(airport).toHaveLength(1);
    expect(airport[0]?.memory?.source?.messageIds).toEqual([fact]);
  });
});

/** `engram serve` as its own process, on free ports. */
async function spawnEngram(extra: Record<string, string>): Promise<{
  baseUrl: string;
  metrics(): Promise<string>;
  kill(): Promise<void>;
}> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve"], {
    env: { ...process.env, ENGRAM_PORT: "0", ENGRAM_METRICS_PORT: "0", ENGRAM_LOG_LEVEL: "info", ...extra },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ports = await new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`engram serve exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as { msg: string; port: number; metricsPort: number };
      if (entry.msg === "engram listening") resolve(entry);
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${ports.port}`,
    metrics: async () => (await fetch(`http://127.0.0.1:${ports.metricsPort}/metrics`)).text(),
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
