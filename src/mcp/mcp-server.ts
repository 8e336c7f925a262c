import type { JsonValue } from "@bufbuild/protobuf";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import type { Caller } from "../domain/authorization.js";
import { limits } from "../domain/limits.js";
import type { Scope } from "../domain/types.js";
import { toConnectError } from "../rpc/error-mapping.js";
import type { CallInProcess } from "../rpc/in-process-call.js";
import { memoryServiceInvoker, toolErrorText } from "./mcp-invoke.js";
import { registerResources } from "./mcp-resources.js";
import { toolOutputSchema, toolResult, type ShapedTool } from "./mcp-results.js";

/**
 * Engram as a Model Context Protocol server. Each tool builds the gRPC
 * request of one MemoryService method and sends it down the request pipeline
 * every front door shares (`rpc/in-process-call.ts`): the same handlers the
 * gRPC port calls, behind the same interceptors, so authorization,
 * validation, policy, the deadline cap, spans, metrics, logs and the error
 * mapping are the ones callers of the RPC API get; the tool's result is that
 * method's response as structured content, with an output schema
 * (mcp-results.ts).
 *
 * The scope is bound when the server is created (from configuration or the
 * authenticated HTTP caller): no tool takes a namespace or a user, so a model
 * cannot reach another user's memory by choosing one.
 */
export interface McpBinding {
  readonly caller: Caller;
  readonly scope: Scope;
  /** The client's trace context headers (traceparent, tracestate, baggage); a new trace when absent. */
  readonly traceHeaders?: Headers;
}

export const mcpServerInfo = { name: "engram", version: "0.1.0" } as const;

export function createMcpServer(call: CallInProcess, binding: McpBinding): McpServer {
  const invoke = memoryServiceInvoker(call, binding.caller, binding.scope, binding.traceHeaders);

  /**
   * Runs a tool: its structured result (mcp-results.ts), or a tool error with
   * the gRPC status and message. The pipeline has already mapped, counted and
   * logged a failure; toConnectError only reads its status back (and maps the
   * rare failure before the call, such as arguments protobuf JSON refuses).
   */
  const tool =
    <A>(name: ShapedTool, work: (args: A, signal: AbortSignal) => Promise<JsonValue>) =>
    async (args: A, extra: { signal: AbortSignal }): Promise<CallToolResult> => {
      try {
        return toolResult(name, await work(args, extra.signal));
      } catch (error) {
        return { isError: true, content: [{ type: "text", text: toolErrorText(toConnectError(error, extra.signal)) }] };
      }
    };

  const server = new McpServer(mcpServerInfo, {
    instructions:
      `Engram is this user's memory (namespace "${binding.scope.namespace}", user "${binding.scope.userId}"). ` +
      "Call recall before answering questions that may depend on what the user told you before; call remember " +
      "for durable facts, preferences and events worth keeping across sessions (not passing task state, not " +
      "secrets); keep a task's scratchpad with set_working and clear it with complete_task.",
  });
  const idArg = (what: string) => z.string().describe(`The ${what} id: 1 to 128 characters of A-Z a-z 0-9 . _ : @ -.`);
  const memoryType = z
    .enum(["episodic", "semantic", "preference"])
    .describe(
      "episodic: something that happened (newer wins on conflict); semantic: a fact (updated in place); " +
        "preference: what the user likes or wants.",
    );
  const enumJson = (prefix: string, value: string) => `${prefix}_${value.toUpperCase()}`;

  server.registerTool(
    "remember",
    {
      title: "Remember",
      description:
        "Store a long-term memory about the user. The write gate may decline it (transient task state, an " +
        "unconfirmed answer); personal data and credentials are redacted. Returns the outcome (created, merged, " +
        "updated, superseded an older memory, or dropped with the gate's reason) and the stored memory.",
      inputSchema: {
        content: z
          .string()
          .describe(`The memory as one self-contained sentence; 1 byte to ${size(limits.memoryContentBytes)}.`),
        type: memoryType,
        importance: z.number().min(0).max(1).optional().describe("0 to 1; 0.5 when omitted."),
        subject: z
          .string()
          .optional()
          .describe(
            `What the memory is about (e.g. 'favourite editor'); at most ${size(limits.subjectBytes)}; inferred when omitted.`,
          ),
        pinned: z.boolean().optional().describe("Never forgotten by eviction."),
        occurred_at: z.iso
          .datetime({ offset: true })
          .optional()
          .describe("When it happened (RFC 3339); now when omitted."),
      },
      outputSchema: toolOutputSchema("remember"),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    },
    tool("remember", (a, signal) =>
      invoke(
        "remember",
        {
          content: a.content,
          type: enumJson("MEMORY_TYPE", a.type),
          // A model chose to write this, not a person: the write gate judges it (Remember skips it by default).
          applyGate: true,
          ...(a.importance !== undefined ? { importance: a.importance } : {}),
          ...(a.subject !== undefined ? { subject: a.subject } : {}),
          ...(a.pinned !== undefined ? { pinned: a.pinned } : {}),
          ...(a.occurred_at !== undefined ? { occurredAt: a.occurred_at } : {}),
        },
        signal,
      ),
    ),
  );

  server.registerTool(
    "recall",
    {
      title: "Recall",
      description:
        "Search the user's long-term memories by meaning. Returns the best matches first, each with its score " +
        "(relevance weighted by importance and recency) and the memory.",
      inputSchema: {
        query: z.string().describe(`What to look for, in natural language; 1 byte to ${size(limits.queryBytes)}.`),
        top_k: z
          .number()
          .int()
          .min(1)
          .max(limits.topKMax)
          .optional()
          .describe(`How many memories, 1 to ${limits.topKMax}; ${limits.topKDefault} when omitted.`),
        types: z.array(memoryType).optional().describe("Only these memory types; all when omitted."),
      },
      outputSchema: toolOutputSchema("recall"),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    tool("recall", (a, signal) =>
      invoke(
        "recall",
        {
          query: a.query,
          ...(a.top_k !== undefined ? { topK: a.top_k } : {}),
          ...(a.types ? { types: a.types.map((t) => enumJson("MEMORY_TYPE", t)) } : {}),
        },
        signal,
      ),
    ),
  );

  server.registerTool(
    "list_memories",
    {
      title: "List memories",
      description:
        "List the user's long-term memories, oldest first, a page at a time, optionally only some types, a " +
        "subject or pinned ones. Current memories only unless include_superseded. Returns the memories and, when " +
        "there are more, a next_page_token to pass back as page_token.",
      inputSchema: {
        types: z.array(memoryType).optional().describe("Only these memory types; all when omitted."),
        subject: z.string().optional().describe("Only memories with exactly this subject."),
        pinned: z.boolean().optional().describe("Only pinned (true) or unpinned (false) memories."),
        include_superseded: z
          .boolean()
          .optional()
          .describe("Also memories replaced by newer ones (false when omitted)."),
        page_size: z
          .number()
          .int()
          .min(1)
          .max(limits.listPageSizeMax)
          .optional()
          .describe(`Memories per page, 1 to ${limits.listPageSizeMax}; ${limits.listPageSizeDefault} when omitted.`),
        page_token: z.string().optional().describe("The next_page_token of the previous page."),
      },
      outputSchema: toolOutputSchema("list_memories"),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    tool("list_memories", (a, signal) =>
      invoke(
        "listMemories",
        {
          filter: {
            ...(a.types ? { types: a.types.map((t) => enumJson("MEMORY_TYPE", t)) } : {}),
            ...(a.subject !== undefined ? { subject: a.subject } : {}),
            ...(a.pinned !== undefined ? { pinned: a.pinned } : {}),
            ...(a.include_superseded ? {} : { superseded: false }),
          },
          ...(a.page_size !== undefined ? { pageSize: a.page_size } : {}),
          ...(a.page_token !== undefined ? { pageToken: a.page_token } : {}),
        },
        signal,
      ),
    ),
  );

  server.registerTool(
    "forget_memory",
    {
      title: "Forget a memory",
      description: "Delete one long-term memory by id (from recall or remember). Fails with NOT_FOUND if it is gone.",
      inputSchema: { memory_id: idArg("memory") },
      outputSchema: toolOutputSchema("forget_memory"),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    },
    tool("forget_memory", (a, signal) => invoke("forgetMemory", { memoryId: a.memory_id }, signal)),
  );

  server.registerTool(
    "assemble_context",
    {
      title: "Assemble context",
      description:
        "Gather what is relevant for the next answer under a token budget: the user's memories matching the " +
        "query, a task's working state, and a session's summary and recent messages. Returns chat messages " +
        "ready to send (a system preamble, then the conversation's turns) or, with format 'items', the sections " +
        "and their items; then a summary with the tokens used and what was left out.",
      inputSchema: {
        query: z.string().optional().describe("What the next answer is about; memories are recalled for it."),
        token_budget: z
          .number()
          .int()
          .min(1)
          .max(limits.tokenBudgetMax)
          .describe(`Most tokens to return, 1 to ${count(limits.tokenBudgetMax)}.`),
        session_id: idArg("session").optional(),
        task_id: idArg("task").optional(),
        memory_top_k: z
          .number()
          .int()
          .min(0)
          .max(limits.topKMax)
          .optional()
          .describe(`Memories to consider, 0 to ${limits.topKMax}; ${limits.topKDefault} when omitted.`),
        format: z
          .enum(["messages", "items"])
          .optional()
          .describe("messages (the default): rendered chat messages; items: sections of items."),
      },
      outputSchema: toolOutputSchema("assemble_context"),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    tool("assemble_context", (a, signal) =>
      invoke(
        "assembleContext",
        {
          tokenBudget: a.token_budget,
          format: enumJson("CONTEXT_FORMAT", a.format ?? "messages"),
          ...(a.query !== undefined ? { query: a.query } : {}),
          ...(a.session_id !== undefined ? { sessionId: a.session_id } : {}),
          ...(a.task_id !== undefined ? { taskId: a.task_id } : {}),
          ...(a.memory_top_k !== undefined ? { memoryTopK: a.memory_top_k } : {}),
        },
        signal,
      ),
    ),
  );

  server.registerTool(
    "get_working",
    {
      title: "Get working memory",
      description: "Read a task's scratchpad (its key/value entries and when it expires). NOT_FOUND if none.",
      inputSchema: { task_id: idArg("task") },
      outputSchema: toolOutputSchema("get_working"),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    tool("get_working", (a, signal) => invoke("getWorking", { taskId: a.task_id }, signal)),
  );

  server.registerTool(
    "set_working",
    {
      title: "Set working memory",
      description:
        "Write entries into a task's scratchpad (merged with what is there; the TTL restarts). For state that " +
        "matters only while the task runs; it survives compaction and is cleared by complete_task.",
      inputSchema: {
        task_id: idArg("task"),
        entries: z
          .record(z.string(), z.string())
          .describe(
            `1 to ${limits.workingEntriesPerSet} entries; keys 1 to ${size(limits.workingKeyBytes)}, ` +
              `values at most ${size(limits.workingValueBytes)}.`,
          ),
        ttl_seconds: z
          .number()
          .int()
          .min(0)
          .max(limits.ttlSecondsMax)
          .optional()
          .describe(
            `Seconds until the scratchpad expires (at most ${limits.ttlSecondsMax / 86_400} days); ` +
              "the server default when omitted.",
          ),
      },
      outputSchema: toolOutputSchema("set_working"),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    },
    tool("set_working", (a, signal) =>
      invoke(
        "setWorking",
        {
          taskId: a.task_id,
          entries: a.entries,
          ...(a.ttl_seconds !== undefined ? { ttlSeconds: a.ttl_seconds } : {}),
        },
        signal,
      ),
    ),
  );

  server.registerTool(
    "complete_task",
    {
      title: "Complete a task",
      description: "Clear a finished task's scratchpad. Returns how many entries were cleared.",
      inputSchema: { task_id: idArg("task") },
      outputSchema: toolOutputSchema("complete_task"),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    },
    tool("complete_task", (a, signal) => invoke("completeTask", { taskId: a.task_id }, signal)),
  );

  server.registerTool(
    "append_messages",
    {
      title: "Append messages",
      description:
        "Add turns to a session's short-term memory, in order. Past the session's token limit older turns are " +
        "compacted into a summary. Returns the new message ids and the session's token count.",
      inputSchema: {
        session_id: idArg("session"),
        messages: z
          .array(
            z.object({
              role: z.enum(["user", "assistant", "system", "tool"]),
              content: z.string().describe(`1 byte to ${size(limits.messageContentBytes)}.`),
            }),
          )
          .min(1)
          .max(limits.messagesPerAppend)
          .describe(`1 to ${limits.messagesPerAppend} messages, oldest first.`),
      },
      outputSchema: toolOutputSchema("append_messages"),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    },
    tool("append_messages", (a, signal) =>
      invoke(
        "appendMessages",
        {
          sessionId: a.session_id,
          messages: a.messages.map((m) => ({ role: enumJson("ROLE", m.role), content: m.content })),
        },
        signal,
      ),
    ),
  );

  registerResources(server, invoke);

  return server;
}

/** A byte limit as the tool descriptions say it: "8 KiB", "256 bytes". */
function size(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

/** A count with thousands separators: "1,000,000". */
function count(n: number): string {
  return n.toLocaleString("en-US");
}
