import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MemoryType, RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { openClient } from "../support/clients.js";
import { expectStatus } from "../support/expect-status.js";
import { startFakeModelServer, type FakeModelServer } from "../support/openai-compatible-server.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/** Engram with ENGRAM_MODEL_PROVIDER=openai, against our OpenAI-compatible endpoint. */
let models: FakeModelServer;
let server: TestServer;
beforeAll(async () => {
  models = await startFakeModelServer(96);
  server = await startTestServer({
    ENGRAM_MODEL_PROVIDER: "openai",
    ENGRAM_OPENAI_BASE_URL: models.baseUrl,
    ENGRAM_OPENAI_TIMEOUT_MS: "2000",
    ENGRAM_OPENAI_MAX_RETRIES: "0",
    ENGRAM_SESSION_TOKEN_LIMIT: "120",
    ENGRAM_SUMMARY_MAX_TOKENS: "60",
    ENGRAM_COMPACTION_KEEP_RECENT: "2",
    ENGRAM_OPENAI_EMBEDDING_BATCH_SIZE: "2",
  });
});
afterAll(async () => {
  await server?.destroy();
  await models?.stop();
});

describe("the OpenAI-compatible provider", () => {
  const scope = () => ({ namespace: "models", userId: randomUUID() });

  it("embeds with the model, whose dimension the store takes", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const s = scope();
    await client.remember({
      scope: s,
      type: MemoryType.SEMANTIC,
      content: "Keeps bees in the garden",
    });
    const recalled = await client.recall({ scope: s, query: "bees garden" });
    expect(recalled.memories[0]?.memory?.content).toBe("Keeps bees in the garden");
    const embeddingCalls = models.requests.filter((r) => r.path === "/v1/embeddings");
    expect(embeddingCalls.length).toBeGreaterThanOrEqual(3); // probe, remember, recall
  });

  it("learns standalone statements from a session in one model call, from redacted text", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const s = scope();
    await client.appendMessages({
      scope: s,
      sessionId: "s",
      messages: [
        { role: Role.USER, content: "thanks!" },
        { role: Role.USER, content: "I prefer green tea in the afternoon" },
        { role: Role.USER, content: "Write to me at ana@example.com about it" },
      ],
    });
    const before = models.requests.filter((r) => r.path === "/v1/chat/completions").length;
    const ended = await client.endSession({ scope: s, sessionId: "s" });
    const chats = models.requests.filter((r) => r.path === "/v1/chat/completions").slice(before);
    expect(chats).toHaveLength(1);
    const prompt = JSON.stringify(chats[0]!.body.messages);
    expect(chats[0]!.body.response_format).toMatchObject({ json_schema: { name: "memory_extraction" } });
    expect(prompt).not.toContain("ana@example.com"); // redacted before the model sees it
    expect(ended.decisions.map((d) => [d.stored, d.decidedBy, d.reason])).toEqual([[true, "model", "model:extracted"]]);
    const [learnt] = (await client.recall({ scope: s, query: "what tea does the user like" })).memories;
    expect(learnt?.memory?.content).toBe("The user prefers green tea in the afternoon.");
    expect(learnt?.memory?.source?.messageIds).toHaveLength(1);
  });

  it("embeds an import and a session's memories in requests of ENGRAM_OPENAI_EMBEDDING_BATCH_SIZE (2)", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const s = scope();
    const batchSize = 2;
    const embeddingInputs = (since: number) =>
      models.requests
        .slice(since)
        .flatMap((r) => (r.path === "/v1/embeddings" ? [(r.body.input as string[]).length] : []));

    const facts = ["Keeps bees", "Sails on Sundays", "Bakes rye bread", "Plays the cello", "Grows tomatoes"];
    let before = models.requests.length;
    const { results } = await client.importMemories({
      scope: s,
      memories: facts.map((content) => ({ type: MemoryType.SEMANTIC, content })),
    });
    expect(results.map((r) => r.outcome)).toEqual(facts.map(() => RememberOutcome.CREATED));
    const imported = embeddingInputs(before);
    expect(imported).toHaveLength(Math.ceil(facts.length / batchSize));
    expect(imported.reduce((a, b) => a + b, 0)).toBe(facts.length);
    expect(Math.max(...imported)).toBeLessThanOrEqual(batchSize);

    // The script extracts one statement from each line.
    const lines = [
      "I prefer green tea in the afternoon",
      "my home town is Bergen",
      "I prefer cycling to work",
      "my second language is German",
      "my favourite composer is Grieg",
    ];
    await client.appendMessages({
      scope: s,
      sessionId: "batch",
      messages: lines.map((content) => ({ role: Role.USER, content })),
    });
    before = models.requests.length;
    const ended = await client.endSession({ scope: s, sessionId: "batch" });
    expect(ended.decisions.map((d) => d.stored)).toEqual(lines.map(() => true));
    const learnt = embeddingInputs(before);
    // Twice the lines: the messages, to show the model the user's closest current memories, then the
    // statements it extracted, each in requests of the batch size.
    expect(learnt).toHaveLength(2 * Math.ceil(lines.length / batchSize));
    expect(learnt.reduce((a, b) => a + b, 0)).toBe(2 * lines.length);
    expect(Math.max(...learnt)).toBeLessThanOrEqual(batchSize);
  });

  it("asks the model about an ambiguous explicit write only when the caller applies the gate", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const judged = await client.remember({
      scope: scope(),
      type: MemoryType.SEMANTIC,
      content: "The meeting notes were shared with the wider team yesterday",
      applyGate: true,
    });
    expect([judged.decision?.decidedBy, judged.decision?.reason]).toEqual(["model", "model:not-durable"]);
  });

  it("compacts with the model's summary", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const s = scope();
    let compacted = false;
    for (let i = 0; i < 12 && !compacted; i++) {
      const result = await client.appendMessages({
        scope: s,
        sessionId: "long",
        messages: [
          { role: Role.USER, content: `Turn ${i}: planning the trip to Lisbon with a budget of ${i * 100} euros` },
        ],
      });
      compacted = result.compacted;
    }
    expect(compacted).toBe(true);
    // Compaction runs in the background: the append that queued it did not wait for the model.
    await vi.waitFor(
      async () => {
        const read = await client.getMessages({ scope: s, sessionId: "long" });
        expect(read.summary?.content).toMatch(/^Model summary: user: Turn 0/);
      },
      { timeout: 30_000, interval: 100 },
    );
  });

  it("answers UNAVAILABLE when the model endpoint fails, and recovers", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    models.failNext(1, 500);
    await expectStatus(client.recall({ scope: scope(), query: "anything" }), Code.Unavailable, /model endpoint/);
    await client.recall({ scope: scope(), query: "anything" });
  });
});
