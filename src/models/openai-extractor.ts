import type OpenAI from "openai";
import {
  MalformedModelOutputError,
  type ExtractedStatement,
  type ExtractionInput,
  type ExtractionMessage,
  type Extractor,
} from "../domain/models.js";
import { structuredChatText, type OpenAiConfig } from "./openai-models.js";

const memoryTypes = ["episodic", "semantic", "preference"] as const;
const relations = ["new", "repeats", "refines", "contradicts"] as const;

const extractionSchema = {
  type: "object",
  properties: {
    memories: {
      type: "array",
      items: {
        type: "object",
        properties: {
          content: { type: "string" },
          type: { type: "string", enum: memoryTypes },
          importance: { type: "number" },
          subject: { type: "string" },
          occurred_at: { type: "string" },
          message_ids: { type: "array", items: { type: "string" } },
          relation: { type: "string", enum: relations },
          memory_ids: { type: "array", items: { type: "string" } },
        },
        required: ["content", "type", "importance", "subject", "occurred_at", "message_ids", "relation", "memory_ids"],
        additionalProperties: false,
      },
    },
  },
  required: ["memories"],
  additionalProperties: false,
};

const instructions =
  "You maintain a user's long-term memory. From the NEW messages of a conversation, extract what is worth " +
  "remembering about the user across conversations: stable facts, preferences, decisions, important events. " +
  "Write each as one standalone statement in the third person that is understandable without the conversation " +
  '(e.g. "The user prefers aisle seats on long flights"). Use the summary and earlier messages only as context: ' +
  "when the user corrects or confirms something, state what is true after the correction, never the corrected " +
  "claim. Never store small talk, questions, transient states (tired today), task chatter, or assistant claims the " +
  "user did not confirm. For each: type (episodic: events and decisions; semantic: facts; preference), importance " +
  "0 to 1, a short subject, occurred_at (ISO 8601 if the conversation says when, else empty), and message_ids: the " +
  "ids of the NEW messages it comes from. Then compare it with the user's CURRENT memories: relation is " +
  '"repeats" when it says what a current memory says, "refines" when it says the same with more detail, ' +
  '"contradicts" when it makes a current memory no longer true (a move, a change of plan, a preference given up, ' +
  'a correction), else "new"; memory_ids are those current memories\' ids (empty for "new"). ' +
  "Answer as JSON; an empty list when nothing is worth remembering.";

/** Attempts per batch: the first, and one retry when the output does not match the schema. */
const attempts = 2;

/** The OpenAI-compatible extractor: one structured-output call per batch, validated whole before use. */
export class OpenAiExtractor implements Extractor {
  constructor(
    private readonly client: OpenAI,
    private readonly config: OpenAiConfig,
  ) {}

  async extract(input: ExtractionInput, signal?: AbortSignal): Promise<ExtractedStatement[]> {
    const line = (m: ExtractionMessage) =>
      JSON.stringify({
        id: m.id,
        role: m.role,
        ...(m.name ? { name: m.name } : {}),
        at: m.occurredAt.toISOString(),
        content: m.content,
      });
    const known = input.memories ?? [];
    const memory = (m: { id: string; type: string; content: string }) =>
      JSON.stringify({ id: m.id, type: m.type, content: m.content });
    const prompt =
      `CURRENT memories of the user:\n${known.map(memory).join("\n") || "(none)"}\n\n` +
      `Summary so far:\n${input.summary || "(none)"}\n\n` +
      `Earlier messages (context only):\n${input.context.map(line).join("\n") || "(none)"}\n\n` +
      `NEW messages:\n${input.messages.map(line).join("\n")}`;
    const asked = new Set(input.messages.map((m) => m.id));
    let problem = "";
    for (let attempt = 0; attempt < attempts; attempt++) {
      const text = await structuredChatText(
        this.client,
        this.config,
        "memory_extraction",
        extractionSchema,
        instructions,
        prompt,
        signal,
      );
      try {
        return parseStatements(text, asked, new Set(known.map((m) => m.id)));
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      }
    }
    throw new MalformedModelOutputError(`memory_extraction output is malformed after ${attempts} attempts: ${problem}`);
  }
}

/** Validates the whole output before anything is used: one bad statement rejects the batch. */
export function parseStatements(
  text: string,
  asked: ReadonlySet<string>,
  shown: ReadonlySet<string> = new Set(),
): ExtractedStatement[] {
  let output: unknown;
  try {
    output = JSON.parse(text);
  } catch {
    throw new Error("not JSON");
  }
  const memories = (output as { memories?: unknown } | null)?.memories;
  if (!Array.isArray(memories)) throw new Error("no `memories` list");
  return memories.map((item: unknown, i): ExtractedStatement => {
    const m = (item ?? {}) as Record<string, unknown>;
    const where = `memories[${i}]`;
    if (typeof m.content !== "string" || m.content.trim() === "") throw new Error(`${where}.content is not text`);
    if (!memoryTypes.includes(m.type as (typeof memoryTypes)[number])) throw new Error(`${where}.type is unknown`);
    if (typeof m.importance !== "number" || !Number.isFinite(m.importance)) {
      throw new Error(`${where}.importance is not a number`);
    }
    const ids = Array.isArray(m.message_ids) ? m.message_ids.filter((id): id is string => typeof id === "string") : [];
    const known = ids.filter((id) => asked.has(id));
    if (known.length === 0) throw new Error(`${where}.message_ids names none of the new messages`);
    const at = typeof m.occurred_at === "string" && m.occurred_at !== "" ? new Date(m.occurred_at) : undefined;
    // A relation to memories the model was not shown is ignored, never trusted.
    const judgedIds = Array.isArray(m.memory_ids)
      ? m.memory_ids.filter((id): id is string => typeof id === "string" && shown.has(id))
      : [];
    const relation =
      m.relation === "repeats" || m.relation === "refines" || m.relation === "contradicts" ? m.relation : undefined;
    return {
      ...(relation && judgedIds.length > 0 ? { relation: { kind: relation, memoryIds: judgedIds } } : {}),
      content: m.content.trim(),
      type: m.type as ExtractedStatement["type"],
      importance: Math.min(1, Math.max(0, m.importance)),
      subject: typeof m.subject === "string" ? m.subject.slice(0, 200) : "",
      occurredAt: at && !Number.isNaN(at.getTime()) ? at : undefined,
      messageIds: known,
    };
  });
}
