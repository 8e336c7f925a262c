import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ContextFormat } from "../src/gen/engram/v1/assembly_pb.js";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../src/gen/engram/v1/short_term_pb.js";
import { topics } from "./corpus.js";
import { startEngramProcess } from "./engram-process.js";
import { measure, printTable } from "./measure.js";

/**
 * The agent-facing doors on the embedded store: Recall over gRPC, the same
 * recall as an MCP tool over streamable HTTP, with tracing on (OTLP to a
 * local sink that discards), and AssembleContext rendered as messages
 * beside items. Baseline: Ping over gRPC.
 */
export async function benchAgents(options: { calls: number; concurrency: number }): Promise<void> {
  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const scope = { namespace: "bench", userId: "agent" };
  const plain = await startEngramProcess({
    ENGRAM_MCP_ENABLED: "true",
    ENGRAM_MCP_PORT: "0",
    ENGRAM_MCP_NAMESPACE: scope.namespace,
    ENGRAM_MCP_USER_ID: scope.userId,
  });
  const traced = await startEngramProcess({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
  });
  const mcp = new Client({ name: "engram-bench", version: "1" });
  try {
    const client = createClient(MemoryService, createGrpcTransport({ baseUrl: plain.baseUrl }));
    const tracedClient = createClient(MemoryService, createGrpcTransport({ baseUrl: traced.baseUrl }));
    for (const c of [client, tracedClient]) {
      for (let i = 0; i < 200; i += 20) {
        await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            c.remember({ scope, type: MemoryType.SEMANTIC, content: topics(i + j), importance: 0.5 }),
          ),
        );
      }
      for (let i = 0; i < 20; i++) {
        await c.appendMessages({ scope, sessionId: "s", messages: [{ role: Role.USER, content: topics(i) }] });
      }
    }
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${plain.mcpPort}/mcp`)));

    const ping = await measure("Ping (baseline)", () => client.ping({}), options);
    const recall = await measure("Recall (gRPC)", (i) => client.recall({ scope, query: topics(i) }), options);
    const tracedRecall = await measure(
      "Recall (gRPC, traced, OTLP export)",
      (i) =>
        tracedClient.recall(
          { scope, query: topics(i) },
          { headers: { traceparent: `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01` } },
        ),
      options,
    );
    const mcpRecall = await measure(
      "recall (MCP tool, streamable HTTP)",
      (i) => mcp.callTool({ name: "recall", arguments: { query: topics(i) } }),
      options,
    );
    const assemble = (format: ContextFormat) => async (i: number) => {
      for await (const _ of client.assembleContext({
        scope,
        sessionId: "s",
        query: topics(i),
        tokenBudget: 2000,
        format,
      })) {
        // drain
      }
    };
    const items = await measure("AssembleContext (items)", assemble(ContextFormat.ITEMS), options);
    const messages = await measure("AssembleContext (messages)", assemble(ContextFormat.MESSAGES), options);
    printTable(
      "Agents: MCP, tracing and rendered context (embedded store, 200 memories)",
      [ping, recall, tracedRecall, mcpRecall, items, messages],
      ping,
    );
  } finally {
    await mcp.close();
    await plain.stop();
    await traced.stop();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
}
