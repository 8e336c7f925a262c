import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startTracing } from "../../src/observability/tracing.js";
import { openClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * The production path: the SDK configured from OTEL_* variables exports
 * OTLP (http/protobuf) to a collector; here a local receiver.
 */
const received: { path: string; contentType: string; body: Buffer }[] = [];
let collector: Server;
let server: TestServer;
beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        contentType: req.headers["content-type"] ?? "",
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
  await new Promise<void>((resolve) => collector?.close(() => resolve()));
});

describe("OTLP export", () => {
  it("sends the server span of a traced call to OTEL_EXPORTER_OTLP_ENDPOINT", async () => {
    const { port } = collector.address() as AddressInfo;
    const tracing = startTracing(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: "engram-test" }).tracing,
    );
    expect(tracing).toBeDefined();
    const traceId = randomBytes(16);
    const { client } = openClient("connect", server.baseUrl);
    await client.ping(
      {},
      { headers: { traceparent: `00-${traceId.toString("hex")}-${randomBytes(8).toString("hex")}-01` } },
    );
    await tracing!.shutdown(); // flushes the batch
    expect(received.map((r) => [r.path, r.contentType])).toContainEqual(["/v1/traces", "application/x-protobuf"]);
    const body = Buffer.concat(received.map((r) => r.body));
    expect(body.includes(traceId)).toBe(true);
    expect(body.includes(Buffer.from("engram.v1.MemoryService/Ping"))).toBe(true);
    expect(body.includes(Buffer.from("engram-test"))).toBe(true);
  });
});
