import { randomBytes } from "node:crypto";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { installTracing, type Tracing } from "../../src/observability/tracing.js";
import { startRedisAndWeaviate } from "../support/backends.js";
import { clientKinds, openClient } from "../support/clients.js";
import { collect } from "../support/expect-status.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Traces through the public API on Redis + Weaviate, exported to memory:
 * each call continues the caller's trace (a W3C traceparent header), with
 * Engram's server span and the backend and model spans beneath it.
 */
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let server: TestServer;
beforeAll(() => {
  tracing = installTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
});
const backend = startRedisAndWeaviate();
beforeAll(async () => {
  server = await startTestServer({
    ...backend.env(),
    ENGRAM_MCP_ENABLED: "true",
    ENGRAM_MCP_PORT: "0",
    ENGRAM_MCP_USER_ID: scope.userId,
    ENGRAM_MCP_NAMESPACE: scope.namespace,
  });
});
afterAll(async () => {
  await server?.destroy();
  await tracing?.shutdown();
});

const scope = { namespace: "traced", userId: "u1" };

/** A caller's span context, sent as traceparent; returns its ids. */
function callerTrace() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, headers: { traceparent: `00-${traceId}-${spanId}-01` } };
}

function spansOf(traceId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
}
const named = (spans: ReadableSpan[], name: string | RegExp) =>
  spans.filter((s) => (typeof name === "string" ? s.name === name : name.test(s.name)));
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

describe("traces", () => {
  it("one Recall: the caller's span, Engram's server span, then the embedding and the Weaviate query", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    await client.remember({ scope, type: MemoryType.PREFERENCE, content: "I prefer aisle seats on long flights" });

    const caller = callerTrace();
    const response = await client.recall({ scope, query: "which seat?" }, { headers: caller.headers });
    expect(response.memories).toHaveLength(1);

    const spans = spansOf(caller.traceId);
    const [rpc, ...others] = named(spans, "engram.v1.MemoryService/Recall");
    expect(others).toEqual([]);
    expect(rpc!.kind).toBe(SpanKind.SERVER);
    expect(rpc!.parentSpanContext?.spanId).toBe(caller.spanId);
    expect(rpc!.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.method": "Recall",
      "rpc.grpc.status_code": 0,
      "engram.namespace": "traced",
      "engram.user_id": "u1",
      // OpenTelemetry's GenAI memory conventions, beside Engram's own.
      "gen_ai.operation.name": "search_memory",
      "gen_ai.provider.name": "engram",
      "gen_ai.memory.store.id": "traced/u1",
      "gen_ai.memory.record.count": 1,
    });
    const children = childrenOf(spans, rpc!);
    const embed = named(children, "engram model.embed");
    expect(embed).toHaveLength(1);
    expect(embed[0]!.attributes).toMatchObject({ "engram.model_provider": "local-onnx", "engram.input_count": 1 });
    const queries = named(children, /^weaviate long_term\./);
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.every((q) => q.kind === SpanKind.CLIENT)).toBe(true);
    expect(queries.some((q) => q.attributes["engram.result_count"] === 1)).toBe(true);
    // Ids and counts, never content.
    for (const span of spans) {
      expect(JSON.stringify(span.attributes)).not.toMatch(/aisle|which seat/);
    }
  });

  it("a write: the user's lock wait and the Weaviate batch under Remember; Redis scripts under AppendMessages", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const remember = callerTrace();
    await client.remember(
      { scope, type: MemoryType.SEMANTIC, content: "I work at Acme as an engineer" },
      { headers: remember.headers },
    );
    const rememberSpans = spansOf(remember.traceId);
    const [rpc] = named(rememberSpans, "engram.v1.MemoryService/Remember");
    expect(rpc!.parentSpanContext?.spanId).toBe(remember.spanId);
    expect(rpc!.attributes).toMatchObject({
      "gen_ai.operation.name": "upsert_memory",
      "gen_ai.memory.store.id": "traced/u1",
      "gen_ai.memory.record.count": 1,
    });
    expect(rpc!.attributes["gen_ai.memory.record.id"]).toMatch(/\S/);
    const lockWait = named(rememberSpans, "engram user_write_lock.wait");
    expect(lockWait).toHaveLength(1);
    expect(named(rememberSpans, /^weaviate long_term\./).length).toBeGreaterThan(1);
    // The lock's release is a Redis script in the same trace.
    expect(named(rememberSpans, "redis release")).toHaveLength(1);

    const append = callerTrace();
    await client.appendMessages(
      { scope, sessionId: "s1", messages: [{ role: Role.USER, content: "hello there" }] },
      { headers: append.headers },
    );
    const appendSpans = spansOf(append.traceId);
    const [appendRpc] = named(appendSpans, "engram.v1.MemoryService/AppendMessages");
    const [store] = named(childrenOf(appendSpans, appendRpc!), /^redis sessions\./);
    const [script] = named(childrenOf(appendSpans, store!), "redis append");
    expect(script!.attributes["db.system.name"]).toBe("redis");
    // EVAL the first time a server sees the script (NOSCRIPT), EVALSHA after.
    expect(script!.attributes["db.operation.name"]).toMatch(/^EVAL(SHA)?$/);
  });

  it.each(clientKinds)("continues the caller's trace over %s, streaming calls included", async (kind) => {
    const handle = openClient(kind, server.baseUrl);
    try {
      const caller = callerTrace();
      await collect(
        handle.client.assembleContext(
          // A query of its own per transport: a repeated query's vector comes from the query cache, unembedded.
          { scope, query: `seat over ${kind}`, sessionId: "s1", tokenBudget: 200 },
          { headers: caller.headers },
        ),
      );
      const spans = spansOf(caller.traceId);
      const [rpc] = named(spans, "engram.v1.MemoryService/AssembleContext");
      expect(rpc!.parentSpanContext?.spanId).toBe(caller.spanId);
      expect(rpc!.attributes["rpc.messages_sent"]).toBeGreaterThan(1);
      const children = childrenOf(spans, rpc!);
      expect(named(children, "engram model.embed")).toHaveLength(1);
      expect(named(children, /^weaviate long_term\./).length).toBeGreaterThan(0);
      expect(named(children, /^redis sessions\./).length).toBeGreaterThan(0);
    } finally {
      handle.close();
    }
  });

  it("an MCP tool call over HTTP continues the client's trace, as the RPC it calls", async () => {
    const caller = callerTrace();
    const client = new Client({ name: "engram-test", version: "1.0.0" });
    const url = new URL(`http://127.0.0.1:${server.server.mcpPort}/mcp`);
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: caller.headers } }));
    try {
      const result = await client.callTool({ name: "recall", arguments: { query: "which seat did I book?" } });
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    const spans = spansOf(caller.traceId);
    // The same server span as a gRPC Recall (the same trace interceptor), marked as coming in by MCP.
    const [tool] = named(spans, "engram.v1.MemoryService/Recall");
    expect(tool!.kind).toBe(SpanKind.SERVER);
    expect(tool!.parentSpanContext?.spanId).toBe(caller.spanId);
    expect(tool!.attributes).toMatchObject({
      "rpc.system": "grpc",
      "engram.protocol": "mcp",
      "rpc.grpc.status_code": 0,
      "engram.namespace": "traced",
      "engram.user_id": "u1",
    });
    const children = childrenOf(spans, tool!);
    expect(named(children, "engram model.embed")).toHaveLength(1);
    expect(named(children, /^weaviate long_term\./).length).toBeGreaterThan(0);
  });
});
