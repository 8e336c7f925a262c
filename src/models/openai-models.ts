import OpenAI from "openai";
import { UnavailableError } from "../domain/errors.js";
import type { Embedder, EmbedderIdentity, Summariser, SummaryLine } from "../domain/models.js";
import type { MemoryType } from "../domain/types.js";
import type { GateCandidate, GateClassification, GateClassifier } from "../domain/write-gate.js";

/**
 * Model providers for any OpenAI-compatible endpoint (OpenAI, Azure OpenAI,
 * vLLM, Ollama, …) through the `openai` package: embeddings batched, chat
 * calls with structured (JSON schema) output that is validated before use.
 * The client retries connection errors, 429 and 5xx with backoff; what
 * still fails becomes UnavailableError, so callers get UNAVAILABLE.
 */
export interface OpenAiConfig {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly embeddingModel: string;
  readonly chatModel: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly embeddingBatchSize: number;
}

export function createOpenAiClient(config: OpenAiConfig): OpenAI {
  return new OpenAI({
    baseURL: config.baseUrl,
    apiKey: config.apiKey,
    timeout: config.timeoutMs,
    maxRetries: config.maxRetries,
  });
}

async function callModel<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UnavailableError) throw error;
    const status = error instanceof OpenAI.APIError && error.status ? ` (HTTP ${error.status})` : "";
    const message = error instanceof Error ? error.message : String(error);
    throw new UnavailableError("model endpoint", `${what} failed${status}: ${message}`, { cause: error });
  }
}

export class OpenAiEmbedder implements Embedder {
  /** The endpoint's model name pins the model (hosted models are versioned by name). */
  readonly identity: EmbedderIdentity;

  constructor(
    private readonly client: OpenAI,
    private readonly config: OpenAiConfig,
    readonly dimensions: number,
  ) {
    this.identity = { provider: "openai", model: config.embeddingModel, version: "" };
  }

  /** Asks the model once for the length of its vectors (for the start-up check against the store). */
  static async probeDimensions(client: OpenAI, config: OpenAiConfig): Promise<number> {
    const response = await callModel("embedding probe", () =>
      client.embeddings.create({ model: config.embeddingModel, input: ["dimension probe"] }),
    );
    const length = response.data[0]?.embedding.length ?? 0;
    if (length === 0) throw new UnavailableError("model endpoint", "the embedding probe returned no vector");
    return length;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.config.embeddingBatchSize) {
      const batch = texts.slice(i, i + this.config.embeddingBatchSize);
      const response = await callModel("embedding", () =>
        this.client.embeddings.create(
          { model: this.config.embeddingModel, input: [...batch] },
          signal ? { signal } : {},
        ),
      );
      const ordered = [...response.data].sort((a, b) => a.index - b.index);
      if (ordered.length !== batch.length) {
        throw new UnavailableError("model endpoint", `asked for ${batch.length} embeddings, got ${ordered.length}`);
      }
      for (const item of ordered) {
        if (item.embedding.length !== this.dimensions) {
          throw new UnavailableError(
            "model endpoint",
            `embedding has ${item.embedding.length} dimensions, expected ${this.dimensions}: did the model change?`,
          );
        }
        vectors.push(normalise(Float32Array.from(item.embedding)));
      }
    }
    return vectors;
  }
}

/** Requests JSON matching `schema` and returns it parsed, or throws UnavailableError. */
async function structuredChat(
  client: OpenAI,
  config: OpenAiConfig,
  name: string,
  schema: Record<string, unknown>,
  system: string,
  user: string,
  signal?: AbortSignal,
  maxTokens?: number,
): Promise<unknown> {
  const content = await structuredChatText(client, config, name, schema, system, user, signal, maxTokens);
  try {
    return JSON.parse(content);
  } catch {
    throw new UnavailableError("model endpoint", `${name} returned output that is not JSON`);
  }
}

/** Requests JSON matching `schema` and returns the model's raw text (the caller validates it). */
export async function structuredChatText(
  client: OpenAI,
  config: OpenAiConfig,
  name: string,
  schema: Record<string, unknown>,
  system: string,
  user: string,
  signal?: AbortSignal,
  maxTokens?: number,
): Promise<string> {
  const completion = await callModel(name, () =>
    client.chat.completions.create(
      {
        model: config.chatModel,
        temperature: 0,
        messages: [
          { role: "system", content: system },
          { role: "user", content: user },
        ],
        response_format: { type: "json_schema", json_schema: { name, schema, strict: true } },
        ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
      },
      signal ? { signal } : {},
    ),
  );
  return completion.choices[0]?.message.content ?? "";
}

const summarySchema = {
  type: "object",
  properties: { summary: { type: "string" } },
  required: ["summary"],
  additionalProperties: false,
};

export class OpenAiSummariser implements Summariser {
  constructor(
    private readonly client: OpenAI,
    private readonly config: OpenAiConfig,
  ) {}

  async summarise(
    previous: string,
    lines: readonly SummaryLine[],
    maxTokens: number,
    signal?: AbortSignal,
  ): Promise<string> {
    const transcript = lines.map((l) => `${l.role}: ${l.content}`).join("\n");
    const output = await structuredChat(
      this.client,
      this.config,
      "conversation_summary",
      summarySchema,
      `You compact the older part of a conversation for an assistant's memory. Merge the existing summary with the new turns. ` +
        `Keep facts, decisions, preferences, names, numbers and open questions; drop pleasantries. ` +
        `At most ${maxTokens} tokens. Answer as JSON: {"summary": "..."}.`,
      `Existing summary:\n${previous || "(none)"}\n\nNew turns:\n${transcript}`,
      signal,
      // The JSON wrapper around the summary costs a few tokens; what the summary exceeds is cut by the caller.
      maxTokens + 32,
    );
    if (
      typeof output !== "object" ||
      output === null ||
      typeof (output as { summary?: unknown }).summary !== "string"
    ) {
      throw new UnavailableError("model endpoint", "conversation_summary output lacks a string `summary`");
    }
    const summary = (output as { summary: string }).summary.trim();
    if (summary === "") throw new UnavailableError("model endpoint", "conversation_summary output is empty");
    return summary;
  }
}

const memoryTypes: readonly MemoryType[] = ["episodic", "semantic", "preference"];

const gateSchema = {
  type: "object",
  properties: {
    decisions: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          store: { type: "boolean" },
          type: { type: "string", enum: memoryTypes },
          importance: { type: "number" },
          reason: { type: "string" },
        },
        required: ["id", "store", "type", "importance", "reason"],
        additionalProperties: false,
      },
    },
  },
  required: ["decisions"],
  additionalProperties: false,
};

/** Decides the gate's ambiguous cases, one call per session. */
export class OpenAiGateClassifier implements GateClassifier {
  constructor(
    private readonly client: OpenAI,
    private readonly config: OpenAiConfig,
  ) {}

  async classify(candidates: readonly GateCandidate[], signal?: AbortSignal): Promise<GateClassification[]> {
    if (candidates.length === 0) return [];
    const output = await structuredChat(
      this.client,
      this.config,
      "memory_write_gate",
      gateSchema,
      `You decide which messages deserve to be stored in a user's long-term memory. Store durable facts about the user, ` +
        `their decisions and their preferences. Never store transient task state, small talk, questions, or anything not ` +
        `confirmed by the user. For each message give: id, store (true/false), type (episodic for events and decisions, ` +
        `semantic for facts, preference for preferences), importance from 0 to 1, and a short reason. Answer as JSON.`,
      JSON.stringify(candidates.map((c) => ({ id: c.id, role: c.role, content: c.content }))),
      signal,
    );
    const decisions = (output as { decisions?: unknown }).decisions;
    if (!Array.isArray(decisions))
      throw new UnavailableError("model endpoint", "memory_write_gate output lacks `decisions`");
    const asked = new Set(candidates.map((c) => c.id));
    // Validate each decision; malformed ones or ones about messages we did not ask about are ignored (= dropped).
    return decisions.flatMap((d: unknown): GateClassification[] => {
      if (typeof d !== "object" || d === null) return [];
      const { id, store, type, importance, reason } = d as Record<string, unknown>;
      if (typeof id !== "string" || !asked.has(id) || typeof store !== "boolean") return [];
      if (!memoryTypes.includes(type as MemoryType) || typeof importance !== "number" || !Number.isFinite(importance))
        return [];
      return [
        {
          id,
          store,
          type: type as MemoryType,
          importance: Math.min(1, Math.max(0, importance)),
          reason: typeof reason === "string" ? reason.slice(0, 200) : "",
        },
      ];
    });
  }
}

function normalise(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const v of vector) sum += v * v;
  if (sum === 0) return vector;
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! * scale;
  return vector;
}
