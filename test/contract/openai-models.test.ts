import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UnavailableError } from "../../src/domain/errors.js";
import {
  createOpenAiClient,
  OpenAiEmbedder,
  OpenAiGateClassifier,
  OpenAiSummariser,
  type OpenAiConfig,
} from "../../src/models/openai-models.js";
import { startFakeModelServer, type FakeModelServer } from "../support/openai-compatible-server.js";

/** The OpenAI-compatible providers through the real `openai` client, against our local endpoint. */
let server: FakeModelServer;
let config: OpenAiConfig;
beforeAll(async () => {
  server = await startFakeModelServer(64);
  config = {
    baseUrl: server.baseUrl,
    apiKey: "test-key",
    embeddingModel: "embed-test",
    chatModel: "chat-test",
    timeoutMs: 1000,
    maxRetries: 2,
    embeddingBatchSize: 3,
  };
});
afterAll(() => server?.stop());
beforeEach(() => {
  server.requests.length = 0;
  server.delayMs = 0;
  server.rawChatReply = undefined;
  server.failNext(0, 500);
});

describe("OpenAiEmbedder", () => {
  it("takes its dimension from the model and batches requests", async () => {
    const client = createOpenAiClient(config);
    const dimensions = await OpenAiEmbedder.probeDimensions(client, config);
    expect(dimensions).toBe(64);
    const embedder = new OpenAiEmbedder(client, config, dimensions);
    server.requests.length = 0;
    const vectors = await embedder.embed(["a", "b", "c", "d", "e", "f", "g"]);
    expect(vectors).toHaveLength(7);
    expect(server.requests.map((r) => (r.body.input as string[]).length)).toEqual([3, 3, 1]);
    expect(server.requests[0]?.body.model).toBe("embed-test");
  });

  it("refuses vectors of a different dimension instead of storing them", async () => {
    const embedder = new OpenAiEmbedder(createOpenAiClient(config), config, 128);
    await expect(embedder.embed(["x"])).rejects.toThrow(/64 dimensions, expected 128/);
  });

  it("retries server errors, then succeeds", async () => {
    server.failNext(2, 503);
    const embedder = new OpenAiEmbedder(createOpenAiClient(config), config, 64);
    expect(await embedder.embed(["x"])).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
  });

  it("gives up as UNAVAILABLE after its retries", async () => {
    server.failNext(10, 500);
    const embedder = new OpenAiEmbedder(createOpenAiClient(config), config, 64);
    const error = await embedder.embed(["x"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/HTTP 500/);
  });

  it("times out as UNAVAILABLE", async () => {
    server.delayMs = 3000;
    const embedder = new OpenAiEmbedder(createOpenAiClient({ ...config, timeoutMs: 200, maxRetries: 0 }), config, 64);
    await expect(embedder.embed(["x"])).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe("OpenAiSummariser", () => {
  it("asks for structured output and returns the validated summary", async () => {
    const summariser = new OpenAiSummariser(createOpenAiClient(config), config);
    const summary = await summariser.summarise("", [{ role: "user", content: "I need a flight to Lisbon" }], 100);
    expect(summary).toMatch(/^Model summary: user: I need a flight to Lisbon/);
    const format = server.requests[0]?.body.response_format as { type: string; json_schema: { strict: boolean } };
    expect(format.type).toBe("json_schema");
    expect(format.json_schema.strict).toBe(true);
  });

  it("rejects output that does not match the schema", async () => {
    const summariser = new OpenAiSummariser(createOpenAiClient(config), config);
    server.rawChatReply = "not json at all";
    await expect(summariser.summarise("", [{ role: "user", content: "x" }], 100)).rejects.toThrow(/not JSON/);
    server.rawChatReply = JSON.stringify({ text: "wrong field" });
    await expect(summariser.summarise("", [{ role: "user", content: "x" }], 100)).rejects.toThrow(/summary/);
  });
});

describe("OpenAiGateClassifier", () => {
  it("classifies a whole batch in one call and ignores decisions about messages it was not asked about", async () => {
    const classifier = new OpenAiGateClassifier(createOpenAiClient(config), config);
    const decisions = await classifier.classify([
      { id: "m1", role: "user", content: "Please remember the gate code changes monthly", metadata: {} },
      { id: "m2", role: "user", content: "The weather report was long", metadata: {} },
    ]);
    expect(server.requests).toHaveLength(1);
    expect(decisions.map((d) => [d.id, d.store])).toEqual([
      ["m1", true],
      ["m2", false],
    ]);
    server.rawChatReply = JSON.stringify({
      decisions: [
        { id: "m1", store: true, type: "semantic", importance: 7, reason: "clamped" },
        { id: "intruder", store: true, type: "semantic", importance: 1, reason: "not asked" },
        { id: "m2", store: true, type: "nonsense", importance: 1, reason: "bad type" },
      ],
    });
    const validated = await classifier.classify([
      { id: "m1", role: "user", content: "a", metadata: {} },
      { id: "m2", role: "user", content: "b", metadata: {} },
    ]);
    expect(validated).toEqual([{ id: "m1", store: true, type: "semantic", importance: 1, reason: "clamped" }]);
  });
});
