import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import type { LongTermStore } from "../../src/domain/ports.js";
import { hashToken } from "../../src/rpc/authentication.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { openClient } from "../support/clients.js";
import { oldNode } from "../support/old-node.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Engram's MCP server through the SDK's own client: over stdio (spawning
 * `engram mcp` as a desktop agent does) and over streamable HTTP (served by
 * `engram serve`), every tool end to end on the embedded store, with the
 * default write gate.
 */
const engram = [process.execPath, ["--import", "tsx", "src/main.ts"]] as const;
const dir = mkdtempSync(join(tmpdir(), "engram-mcp-"));
const tokensFile = join(dir, "tokens.json");
writeFileSync(
  tokensFile,
  JSON.stringify({
    callers: [
      { name: "agent", tokenSha256: hashToken("agent-token"), namespaces: ["chat"], permissions: ["read", "write"] },
      { name: "reader", tokenSha256: hashToken("reader-token"), namespaces: ["chat"], permissions: ["read"] },
    ],
  }),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const toolNames = [
  "append_messages",
  "assemble_context",
  "complete_task",
  "forget_memory",
  "get_working",
  "list_memories",
  "recall",
  "remember",
  "set_working",
];

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}
function text(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "";
}
/** A successful tool call's structured result (the same JSON is its text, for clients that read only text). */
async function ok(client: Client, name: string, args: Record<string, unknown>): Promise<any> {
  const result = await call(client, name, args);
  expect(result.isError, text(result)).toBeFalsy();
  expect(JSON.parse(text(result))).toEqual(result.structuredContent);
  return result.structuredContent;
}

/** Every tool, end to end, in the scope the server bound; the same on every transport. */
async function exerciseTools(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(toolNames);
  for (const t of tools) {
    expect(t.description?.length, t.name).toBeGreaterThan(40);
    expect(t.inputSchema.type).toBe("object");
    // The model never picks the scope.
    expect(Object.keys(t.inputSchema.properties ?? {})).not.toContain("namespace");
    expect(Object.keys(t.inputSchema.properties ?? {})).not.toContain("user_id");
    // Structured output: every tool says the shape of its result (the SDK's client checks results against it).
    expect(t.outputSchema?.type, t.name).toBe("object");
  }
  const recallSchema = tools.find((t) => t.name === "recall")!.outputSchema!;
  expect(recallSchema.required).toEqual(["memories"]);
  // Nothing stored yet: an empty list, not an empty object.
  expect(await ok(client, "recall", { query: "anything at all" })).toEqual({ memories: [] });

  // Through the default write gate, as an agent would.
  const remembered = await ok(client, "remember", {
    content: "I prefer Python for scripting tasks",
    type: "preference",
  });
  expect(remembered.outcome).toBe("REMEMBER_OUTCOME_CREATED");
  const memoryId: string = remembered.memory.id;
  const declined = await ok(client, "remember", { content: "thanks, sounds good", type: "episodic" });
  expect(declined.outcome).toBe("REMEMBER_OUTCOME_DROPPED");

  const recalled = await ok(client, "recall", { query: "which language for scripts?", top_k: 3 });
  expect(recalled.memories[0].memory.id).toBe(memoryId);
  expect(recalled.memories[0].memory.content).toBe("I prefer Python for scripting tasks");

  const second = await ok(client, "remember", { content: "I work at Acme as an engineer", type: "semantic" });
  const firstPage = await ok(client, "list_memories", { page_size: 1 });
  expect(firstPage.memories.map((m: { id: string }) => m.id)).toEqual([memoryId]);
  const secondPage = await ok(client, "list_memories", { page_size: 1, page_token: firstPage.nextPageToken });
  expect(secondPage.memories.map((m: { id: string }) => m.id)).toEqual([second.memory.id]);
  expect(secondPage.nextPageToken ?? "").toBe("");
  const semantic = await ok(client, "list_memories", { types: ["semantic"] });
  expect(semantic.memories.map((m: { id: string }) => m.id)).toEqual([second.memory.id]);
  expect(await ok(client, "forget_memory", { memory_id: second.memory.id })).toEqual({});

  const { resources } = await client.listResources();
  expect(resources.map((r) => r.uri)).toEqual(["engram://memories", `engram://memories/${memoryId}`]);
  const all = await client.readResource({ uri: "engram://memories" });
  const listed = all.contents[0] && "text" in all.contents[0] ? JSON.parse(all.contents[0].text) : undefined;
  expect(listed.memories.map((m: { content: string }) => m.content)).toEqual(["I prefer Python for scripting tasks"]);
  const resource = await client.readResource({ uri: `engram://memories/${memoryId}` });
  const first = resource.contents[0];
  expect(first && "text" in first ? JSON.parse(first.text).memory.id : undefined).toBe(memoryId);

  const set = await ok(client, "set_working", { task_id: "t1", entries: { step: "2 of 5", file: "setup.py" } });
  expect(set.state.entries).toEqual({ step: "2 of 5", file: "setup.py" });
  expect((await ok(client, "get_working", { task_id: "t1" })).state.entries.step).toBe("2 of 5");

  const appended = await ok(client, "append_messages", {
    session_id: "s1",
    messages: [
      { role: "user", content: "Help me script the backup job" },
      { role: "assistant", content: "Sure: which language do you want it in?" },
    ],
  });
  expect(appended.messageIds).toHaveLength(2);

  const assembly = { query: "scripting language", token_budget: 500, session_id: "s1", task_id: "t1" };
  const rendered = await ok(client, "assemble_context", assembly);
  expect(rendered.sections).toEqual([]);
  expect(rendered.rendered.messages.map((m: { role: string }) => m.role)).toEqual([
    "ROLE_SYSTEM",
    "ROLE_USER",
    "ROLE_ASSISTANT",
  ]);
  expect(rendered.rendered.messages[0].content).toContain("- [preference] I prefer Python for scripting tasks");
  expect(rendered.rendered.messages[0].content).toContain("- step: 2 of 5");
  expect(rendered.summary.tokenBudget).toBe(500);
  const items = await ok(client, "assemble_context", { ...assembly, format: "items" });
  expect(items.rendered).toBeUndefined();
  const sections = items.sections;
  expect(sections.map((s: { kind: string }) => s.kind)).toEqual([
    "SECTION_KIND_LONG_TERM_MEMORIES",
    "SECTION_KIND_TASK_STATE",
    "SECTION_KIND_CONVERSATION_HISTORY",
  ]);
  expect(sections[0].items[0].id).toBe(memoryId);
  expect(sections[2].items.map((i: { content: string }) => i.content)).toEqual([
    "user: Help me script the backup job",
    "assistant: Sure: which language do you want it in?",
  ]);
  expect(items.summary.tokenBudget).toBe(500);

  expect((await ok(client, "complete_task", { task_id: "t1" })).clearedEntries).toBe(2);
  const gone = await call(client, "get_working", { task_id: "t1" });
  expect(gone.isError).toBe(true);
  expect(text(gone)).toBe('NOT_FOUND: task "t1" was not found');

  expect(await ok(client, "forget_memory", { memory_id: memoryId })).toEqual({});
  const forgotten = await call(client, "forget_memory", { memory_id: memoryId });
  expect(text(forgotten)).toBe(`NOT_FOUND: memory "${memoryId}" was not found`);
  expect(await ok(client, "recall", { query: "which language for scripts?" })).toEqual({ memories: [] });
}

describe("engram mcp (stdio)", () => {
  const dataDir = join(dir, "stdio");

  const spawnClient = async (env: Record<string, string>) => {
    const client = new Client({ name: "engram-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: engram[0],
        args: [...engram[1], "mcp"],
        env: { PATH: process.env.PATH ?? "", ENGRAM_DATA_DIR: dataDir, ...env },
        stderr: "ignore",
      }),
    );
    return client;
  };

  it("serves every tool to the SDK's client, in the configured scope", async () => {
    const client = await spawnClient({ ENGRAM_MCP_NAMESPACE: "desk", ENGRAM_MCP_USER_ID: "alice" });
    try {
      await exerciseTools(client);
    } finally {
      await client.close();
    }
  });

  it("reports the gRPC status and message as a tool error", async () => {
    const client = await spawnClient({ ENGRAM_MCP_USER_ID: "alice" });
    try {
      const result = await call(client, "remember", { content: "", type: "semantic" });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/^INVALID_ARGUMENT: content: /);
    } finally {
      await client.close();
    }
  });

  it("refuses to start without a user with an MCP error the host shows, naming the variable", async () => {
    await expect(spawnClient({})).rejects.toThrow(/ENGRAM_MCP_USER_ID: is required for engram mcp/);
  });

  it("refuses an old Node with an MCP error on the first request, not a closed pipe", async () => {
    const old = await oldNode();
    const client = new Client({ name: "engram-test", version: "1.0.0" });
    const connecting = client.connect(
      new StdioClientTransport({
        command: old.path,
        args: [...engram[1], "mcp"],
        env: { PATH: process.env.PATH ?? "", ENGRAM_DATA_DIR: dataDir, ENGRAM_MCP_USER_ID: "alice" },
        stderr: "ignore",
      }),
    );
    await expect(connecting).rejects.toThrow(
      new RegExp(`Node ${old.version.replace(/\./g, "\\.")} is too old: Engram needs Node >= 22\\.13`),
    );
  });
});

describe("MCP over streamable HTTP (engram serve)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      ENGRAM_AUTH_TOKENS_FILE: tokensFile,
      ENGRAM_MCP_ENABLED: "true",
      ENGRAM_MCP_PORT: "0",
      ENGRAM_MCP_NAMESPACE: "chat",
    });
  });
  afterAll(() => server?.destroy());

  const connect = async (headers: Record<string, string>) => {
    const client = new Client({ name: "engram-test", version: "1.0.0" });
    const url = new URL(`http://127.0.0.1:${server.server.mcpPort}/mcp`);
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
    return client;
  };
  const as = (token: string, userId = "bob", extra: Record<string, string> = {}) =>
    connect({ authorization: `Bearer ${token}`, "engram-user-id": userId, ...extra });

  it("serves every tool to the SDK's client as the token's caller", async () => {
    const client = await as("agent-token");
    try {
      await exerciseTools(client);
    } finally {
      await client.close();
    }
  });

  it("writes what gRPC callers read, in the same scope only", async () => {
    const client = await as("agent-token", "carol");
    const grpc = openClient("grpc", server.baseUrl);
    try {
      const memory = (await ok(client, "remember", { content: "I love jazz records", type: "preference" })).memory;
      const headers = { authorization: "Bearer agent-token" };
      const found = await grpc.client.getMemory(
        { scope: { namespace: "chat", userId: "carol" }, memoryId: memory.id },
        { headers },
      );
      expect(found.memory?.type).toBe(MemoryType.PREFERENCE);
      const elsewhere = await grpc.client
        .getMemory({ scope: { namespace: "chat", userId: "dave" }, memoryId: memory.id }, { headers })
        .catch((e: unknown) => e);
      expect(ConnectError.from(elsewhere).code).toBe(Code.NotFound);
    } finally {
      await client.close();
      grpc.close();
    }
  });

  it("refuses a call without a known bearer token", async () => {
    await expect(connect({ "engram-user-id": "bob" })).rejects.toThrow(/missing bearer token/);
    await expect(as("wrong-token")).rejects.toThrow(/unknown bearer token/);
  });

  it("answers HTTP statuses a client can act on: 401, 405, 404 and 413 beyond 4 MiB", async () => {
    const url = `http://127.0.0.1:${server.server.mcpPort}/mcp`;
    const post = (body: string, headers: Record<string, string> = {}, target = url) =>
      fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body,
      });
    const unauthenticated = await post("{}");
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("www-authenticate")).toBe("Bearer");
    expect((await fetch(url, { headers: { authorization: "Bearer agent-token" } })).status).toBe(405);
    const authorized = { authorization: "Bearer agent-token", "engram-user-id": "bob" };
    expect((await post("{}", authorized, `${url}-elsewhere`)).status).toBe(404);
    const tooLarge = await post(`"${"x".repeat(4 * 1024 * 1024 + 1)}"`, authorized);
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.text()).toMatch(/exceeds 4194304 bytes/);
  });

  it("refuses a scope without a user", async () => {
    await expect(connect({ authorization: "Bearer agent-token" })).rejects.toThrow(/engram-user-id/);
  });

  it("refuses an engram mcp on this server's data directory, pointing at this server instead", async () => {
    const client = new Client({ name: "engram-test", version: "1.0.0" });
    const connecting = client.connect(
      new StdioClientTransport({
        command: engram[0],
        args: [...engram[1], "mcp"],
        env: { PATH: process.env.PATH ?? "", ENGRAM_DATA_DIR: server.dataDir, ENGRAM_MCP_USER_ID: "alice" },
        stderr: "ignore",
      }),
    );
    await expect(connecting).rejects.toThrow(
      /invalid configuration: ENGRAM_DATA_DIR: .*engram\.db is in use by another Engram process .*call that server \(gRPC, or MCP over HTTP\)/,
    );
  });

  it("gives the gRPC PERMISSION_DENIED message for a missing permission or namespace", async () => {
    const reader = await as("reader-token");
    const outsider = await as("agent-token", "bob", { "engram-namespace": "billing" });
    const grpcMessage = async (namespace: string, token: string) => {
      const grpc = openClient("grpc", server.baseUrl);
      const failure = await grpc.client
        .remember(
          { scope: { namespace, userId: "bob" }, type: MemoryType.SEMANTIC, content: "I work at Acme" },
          { headers: { authorization: `Bearer ${token}` } },
        )
        .catch((e: unknown) => ConnectError.from(e));
      grpc.close();
      return (failure as ConnectError).rawMessage;
    };
    try {
      expect((await ok(reader, "recall", { query: "anything" })).memories ?? []).toEqual([]);
      const refused = await call(reader, "remember", { content: "I work at Acme", type: "semantic" });
      expect(refused.isError).toBe(true);
      expect(text(refused)).toBe(`PERMISSION_DENIED: ${await grpcMessage("chat", "reader-token")}`);
      expect(text(refused)).toMatch(/lacks the write scope/);

      const elsewhere = await call(outsider, "recall", { query: "anything" });
      expect(text(elsewhere)).toBe(`PERMISSION_DENIED: ${await grpcMessage("billing", "agent-token")}`);
      expect(text(elsewhere)).toMatch(/may not access namespace "billing"/);
    } finally {
      await reader.close();
      await outsider.close();
    }
  });

  it("counts tool calls in the RPC metrics, under the method they call", async () => {
    const metrics = await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`).then((r) => r.text());
    // This server has had no gRPC Remember: every count is an MCP remember, through the same interceptors.
    const remember = 'method="engram.v1.MemoryService/Remember"';
    expect(metrics).toMatch(new RegExp(`engram_rpc_requests_total\\{${remember},code="OK"\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`engram_rpc_requests_total\\{${remember},code="PermissionDenied"\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`engram_rpc_duration_seconds_count\\{${remember},code="OK"\\} [1-9]`));
    expect(metrics).not.toMatch(/method="mcp\//);
  });

  it("gives tool calls the server's deadline cap, as gRPC calls get", async () => {
    // Recall's store read never answers: only the deadline (the 1 s maximum) ends the call.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const capped = await startTestServer(
      { ENGRAM_MCP_ENABLED: "true", ENGRAM_MCP_PORT: "0", ENGRAM_MAX_DEADLINE_SECONDS: "1" },
      {
        openStores: (config, dimensions) => {
          const stores = openEmbeddedStores({ path: config.store.sqlitePath, dimensions });
          const longTerm: LongTermStore = Object.create(stores.longTerm);
          longTerm.candidates = () => released.then(() => ({ vector: [], lexical: [] }));
          return { ...stores, longTerm };
        },
      },
    );
    const client = new Client({ name: "engram-test", version: "1.0.0" });
    try {
      const url = new URL(`http://127.0.0.1:${capped.server.mcpPort}/mcp`);
      await client.connect(
        new StreamableHTTPClientTransport(url, { requestInit: { headers: { "engram-user-id": "bob" } } }),
      );
      const result = await call(client, "recall", { query: "anything" });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/^DEADLINE_EXCEEDED: /);
      const metrics = await fetch(`http://127.0.0.1:${capped.server.metricsPort}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(
        /engram_rpc_requests_total\{method="engram.v1.MemoryService\/Recall",code="DeadlineExceeded"\} 1\n/,
      );
    } finally {
      release();
      await client.close();
      await capped.destroy();
    }
  });

  it("takes tool calls from the caller's rate limit, like gRPC calls", async () => {
    const limited = await startTestServer({
      ENGRAM_AUTH_TOKENS_FILE: tokensFile,
      ENGRAM_MCP_ENABLED: "true",
      ENGRAM_MCP_PORT: "0",
      ENGRAM_RATE_LIMIT_PER_SECOND: "0.01",
      ENGRAM_RATE_LIMIT_BURST: "3",
    });
    const client = new Client({ name: "engram-test", version: "1.0.0" });
    try {
      const url = new URL(`http://127.0.0.1:${limited.server.mcpPort}/mcp`);
      const headers = { authorization: "Bearer agent-token", "engram-user-id": "bob", "engram-namespace": "chat" };
      // initialize and its notification take two of the three.
      await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
      await ok(client, "recall", { query: "anything" });
      await expect(call(client, "recall", { query: "anything" })).rejects.toThrow(
        /RESOURCE_EXHAUSTED: caller .+agent.+ is over its rate limit/,
      );
    } finally {
      await client.close();
      await limited.destroy();
    }
  });
});
