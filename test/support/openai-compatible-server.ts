import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { LocalEmbedder } from "../../src/models/local-embedder.js";

/**
 * A small HTTP server that speaks the OpenAI embeddings and chat-completions
 * API (and the /rerank API OpenAI-compatible servers add), so tests exercise the real `openai` client code (retries, timeouts,
 * error handling) against a model endpoint we control.
 *
 * Embeddings come from the local hashed embedder. Chat answers depend on the
 * requested JSON schema: a summary lists the new turns, the write gate
 * stores candidates containing "remember" and drops the rest, and memory
 * extraction follows a small script (see scriptedExtraction).
 */
export interface RecordedRequest {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

export interface FakeModelServer {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** The next `count` requests fail with `status`. */
  failNext(count: number, status: number): void;
  /** Every request waits this long before answering. */
  delayMs: number;
  /** Chat requests (summaries, gate, extraction) wait this long besides. */
  chatDelayMs: number;
  /** Chat answers are replaced by this raw text (for malformed-output tests). */
  rawChatReply: string | undefined;
  /**
   * Replaces the embedding model behind the same name and dimension (for
   * tests of a silently switched embedder); undefined: the hashed embedder.
   */
  embedWith: ((texts: readonly string[]) => Promise<Float32Array[]>) | undefined;
  stop(): Promise<void>;
}

export async function startFakeModelServer(dimensions = 64): Promise<FakeModelServer> {
  const embedder = new LocalEmbedder(dimensions);
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  const state: FakeModelServer = {
    baseUrl: "",
    requests: [],
    delayMs: 0,
    chatDelayMs: 0,
    rawChatReply: undefined,
    embedWith: undefined,
    failNext: (count, status) => (failures = { count, status }),
    stop: async () => {},
  };

  const server: Server = createServer(async (req, res) => {
    const body = JSON.parse((await read(req)) || "{}") as Record<string, unknown>;
    state.requests.push({ path: req.url ?? "", body });
    if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    const reply = (status: number, payload: unknown) => {
      if (res.writableEnded || res.destroyed) return;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
    };
    if (failures.count > 0) {
      failures.count--;
      return reply(failures.status, { error: { message: "injected failure", type: "server_error" } });
    }
    if (req.url === "/v1/embeddings") {
      const input = body.input as string[];
      const vectors = state.embedWith ? await state.embedWith(input) : input.map((text) => embedder.embedOne(text));
      return reply(200, {
        object: "list",
        model: body.model,
        data: vectors.map((vector, index) => ({ object: "embedding", index, embedding: Array.from(vector) })),
        usage: { prompt_tokens: 0, total_tokens: 0 },
      });
    }
    if (req.url === "/v1/rerank") {
      // Scores the documents in reverse of the order given: a reranker that
      // disagrees with every ranking, so a test can see that it was applied.
      const documents = body.documents as string[];
      return reply(200, {
        results: documents.map((_, index) => ({ index, relevance_score: index / documents.length })),
      });
    }
    if (req.url === "/v1/chat/completions") {
      if (state.chatDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.chatDelayMs));
      const messages = body.messages as { role: string; content: string }[];
      const format = body.response_format as { json_schema: { name: string } };
      const user = messages.find((m) => m.role === "user")?.content ?? "";
      let content = state.rawChatReply;
      if (content === undefined && format.json_schema.name === "memory_extraction") {
        content = JSON.stringify({ memories: scriptedExtraction(user) });
      } else if (content === undefined && format.json_schema.name === "conversation_summary") {
        const turns = user.split("New turns:\n")[1] ?? "";
        content = JSON.stringify({
          summary: `Model summary: ${turns
            .split("\n")
            .map((l) => l.slice(0, 40))
            .join(" | ")}`,
        });
      } else if (content === undefined) {
        const candidates = JSON.parse(user) as { id: string; content: string }[];
        content = JSON.stringify({
          decisions: candidates.map((c) => ({
            id: c.id,
            store: /remember/i.test(c.content),
            type: "semantic",
            importance: 0.55,
            reason: /remember/i.test(c.content) ? "asked-to-remember" : "not-durable",
          })),
        });
      }
      return reply(200, {
        id: "chatcmpl-test",
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content, refusal: null } }],
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      });
    }
    reply(404, { error: { message: `no route ${req.url}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (data += chunk));
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

interface PromptMessage {
  id: string;
  role: string;
  content: string;
}

/**
 * A scripted stand-in for a model extracting memories, enough to exercise
 * Engram's side: "my X is Y" states a fact, "No, it's Z" / "Actually, it's
 * Z" corrects the last fact stated (in the context or the new messages),
 * "I prefer X" is a preference; each becomes a third-person statement
 * citing the new messages it came from. Facts are reported as they stand
 * after corrections, never the corrected claim. "I moved to X" / "we
 * relocated to X" says the user lives in X. Against the CURRENT memories
 * shown, a fact of the same subject repeats one with the same value and
 * contradicts one with another, and a move contradicts where the user lived.
 */
function scriptedExtraction(prompt: string): unknown[] {
  const parse = (section: string) =>
    section
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as PromptMessage);
  const [, afterContext = ""] = prompt.split("Earlier messages (context only):\n");
  const [contextPart = "", newPart = ""] = afterContext.split("NEW messages:\n");
  const context = parse(contextPart);
  const fresh = parse(newPart);
  const current = parse(prompt.split("CURRENT memories of the user:\n")[1]?.split("\n\n")[0] ?? "");
  const judged = (matches: (content: string) => boolean, same: (content: string) => boolean) => {
    const related = current.filter((m) => matches(m.content));
    if (related.length === 0) return { relation: "new", memory_ids: [] };
    const repeated = related.filter((m) => same(m.content));
    return repeated.length > 0
      ? { relation: "repeats", memory_ids: repeated.map((m) => m.id) }
      : { relation: "contradicts", memory_ids: related.map((m) => m.id) };
  };
  const facts = new Map<string, { value: string; ids: string[] }>();
  const statements: unknown[] = [];
  let last: string | undefined;
  for (const [isNew, m] of [...context.map((m) => [false, m] as const), ...fresh.map((m) => [true, m] as const)]) {
    if (m.role !== "user") continue;
    const correction = /^(?:no|actually)\b.*?\bit(?:'s| is)\s+(.+?)[.!]*$/i.exec(m.content);
    const fact = /\bmy ([a-z ]+?) is (.+?)[.!]*$/i.exec(m.content);
    const preference = /\bI prefer (.+?)[.!]*$/i.exec(m.content);
    const move = /\b(?:I|[Ww]e)(?:'ve)? (?:moved|relocated) to (\p{Lu}\p{L}+)/u.exec(m.content);
    if (move && isNew) {
      const city = move[1]!;
      statements.push({
        ...statement(`The user lives in ${city}.`, "semantic", "residence", [m.id]),
        ...judged(
          (c) => /lives in|home city/i.test(c),
          (c) => c.includes(city),
        ),
      });
    } else if (correction && last) {
      facts.set(last, { value: correction[1]!, ids: isNew ? [m.id] : [] });
    } else if (fact) {
      last = fact[1]!.toLowerCase();
      facts.set(last, { value: fact[2]!, ids: isNew ? [m.id] : [] });
    } else if (preference && isNew) {
      statements.push(statement(`The user prefers ${preference[1]}.`, "preference", "preference", [m.id]));
    }
  }
  for (const [subject, { value, ids }] of facts) {
    if (ids.length > 0) {
      statements.push({
        ...statement(`The user's ${subject} is ${value}.`, "semantic", subject, ids),
        ...judged(
          (c) => c.toLowerCase().startsWith(`the user's ${subject} is `),
          (c) => c === `The user's ${subject} is ${value}.`,
        ),
      });
    }
  }
  return statements;
}

function statement(content: string, type: string, subject: string, ids: string[]) {
  return {
    content,
    type,
    importance: 0.7,
    subject,
    occurred_at: "",
    message_ids: ids,
    relation: "new",
    memory_ids: [],
  };
}
