import { randomBytes } from "node:crypto";
import { context, trace, TraceFlags } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngramClient } from "../src/index.js";
import { installTracing, type Tracing } from "../../../src/observability/tracing.js";
import { startTestServer, type TestServer } from "../../../test/support/server-harness.js";

/** The client sends the application's current trace context; Engram's server span joins that trace. */
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let server: TestServer;
beforeAll(async () => {
  tracing = installTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
  await tracing?.shutdown();
});

describe("trace propagation", () => {
  it("continues the caller's active span on unary and streaming calls", async () => {
    const client = createEngramClient({ baseUrl: server.baseUrl, timeoutMs: 5000 });
    const caller = {
      traceId: randomBytes(16).toString("hex"),
      spanId: randomBytes(8).toString("hex"),
      traceFlags: TraceFlags.SAMPLED,
    };
    const active = trace.setSpanContext(context.active(), caller);
    await context.with(active, async () => {
      await client.ping({});
      for await (const _ of client.assembleContext({ scope: { namespace: "ts", userId: "u" }, tokenBudget: 50 })) {
        // drain
      }
    });
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === caller.traceId);
    expect(spans.map((s) => [s.name, s.parentSpanContext?.spanId])).toEqual(
      expect.arrayContaining([
        ["engram.v1.MemoryService/Ping", caller.spanId],
        ["engram.v1.MemoryService/AssembleContext", caller.spanId],
      ]),
    );
  });

  it("starts no trace of the caller's when none is active", async () => {
    const client = createEngramClient({ baseUrl: server.baseUrl, timeoutMs: 5000 });
    exporter.reset();
    await client.ping({});
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe("engram.v1.MemoryService/Ping");
    expect(span?.parentSpanContext).toBeUndefined();
  });
});
