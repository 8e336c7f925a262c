import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../src/gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1Alpha } from "../../src/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { connectTransport, openClient } from "../support/clients.js";
import { expectStatus } from "../support/expect-status.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

const run = promisify(execFile);
const buf = "node_modules/.bin/buf";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.destroy());

describe("health checking (grpc.health.v1)", () => {
  it.each(["grpc-js", "connect"] as const)("reports SERVING for the server and MemoryService over %s", async (kind) => {
    const { client, close } = openClient(kind, server.baseUrl, Health);
    await expect.poll(async () => (await client.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await client.check({ service: "engram.v1.MemoryService" })).status).toBe(Status.SERVING);
    const listed = await client.list({});
    expect(Object.keys(listed.statuses).sort()).toEqual(["", "engram.v1.MemoryService", "liveness", "readiness"]);
    await expectStatus(client.check({ service: "no.such.Service" }), Code.NotFound);
    close();
  });

  it("streams status changes to watchers, ending with NOT_SERVING on shutdown", async () => {
    const own = await startTestServer();
    const { client } = openClient("grpc", own.baseUrl, Health);
    await expect.poll(async () => (await client.check({ service: "" })).status).toBe(Status.SERVING);
    const seen: Status[] = [];
    const watching = (async () => {
      try {
        for await (const update of client.watch({ service: "" })) {
          seen.push(update.status);
          if (update.status === Status.SERVING) void own.destroy();
        }
      } catch {
        // The server went away, as asked.
      }
    })();
    await watching;
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
  });
});

describe("server reflection (grpc.reflection.v1 and v1alpha)", () => {
  it("lets buf curl list the services without the proto files", async () => {
    const { stdout } = await run(buf, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-services",
      server.baseUrl,
    ]);
    expect(stdout.trim().split("\n").sort()).toEqual([
      "engram.v1.MemoryService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  it.each(["grpc", "connect"] as const)(
    "answers v1alpha (what ghz and evans ask for) over %s: services and the file declaring MemoryService",
    async (kind) => {
      const client = createClient(ServerReflectionV1Alpha, connectTransport(kind, server.baseUrl));
      const responses = [];
      for await (const response of client.serverReflectionInfo(
        createAsyncIterable([
          { messageRequest: { case: "listServices" as const, value: "" } },
          { messageRequest: { case: "fileContainingSymbol" as const, value: "engram.v1.MemoryService.Ping" } },
        ]),
      )) {
        responses.push(response);
      }
      const [list, file] = responses.map((r) => r.messageResponse);
      expect(list?.case === "listServicesResponse" && list.value.service.map((s) => s.name)).toContain(
        "engram.v1.MemoryService",
      );
      expect(file?.case).toBe("fileDescriptorResponse");
      const names =
        file?.case === "fileDescriptorResponse"
          ? file.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name)
          : [];
      expect(names[0]).toBe("engram/v1/memory_service.proto");
    },
  );

  it("lets buf curl call an RPC from JSON using only reflected descriptors", async () => {
    const request = {
      scope: { namespace: "reflect", userId: randomUUID() },
      sessionId: "s",
      messages: [{ role: "ROLE_USER", content: "hello" }],
    };
    const { stdout } = await run(buf, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--data",
      JSON.stringify(request),
      `${server.baseUrl}/engram.v1.MemoryService/AppendMessages`,
    ]);
    const response = JSON.parse(stdout) as { messageIds: string[]; messageCount: number };
    expect(response.messageIds).toHaveLength(1);
    expect(response.messageCount).toBe(1);
  });
});

describe("metrics", () => {
  it("exports per-RPC latency and status counts on the metrics port", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    await client.ping({});
    await expectStatus(
      client.getMemory({ scope: { namespace: "m", userId: "u" }, memoryId: "missing" }),
      Code.NotFound,
    );
    const body = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
    expect(body).toMatch(/engram_rpc_requests_total\{method="engram\.v1\.MemoryService\/Ping",code="OK"\} [1-9]/);
    expect(body).toMatch(
      /engram_rpc_requests_total\{method="engram\.v1\.MemoryService\/GetMemory",code="NotFound"\} 1/,
    );
    expect(body).toMatch(
      /engram_rpc_duration_seconds_bucket\{le="0\.005",method="engram\.v1\.MemoryService\/Ping",code="OK"\}/,
    );
    expect(body).not.toMatch(/user_id|userId/);
  });

  it("reports retrieval quality: scores, empty recalls, memory types, precision and used-rate", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const scope = { namespace: "quality", userId: randomUUID() };
    const a = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "Grows tomatoes on the balcony",
    });
    const b = await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "Prefers heirloom tomato varieties",
    });
    const recalled = await client.recall({ scope, query: "tomatoes balcony heirloom" });
    expect(recalled.memories).toHaveLength(2);
    await client.recall({ scope: { namespace: "quality", userId: randomUUID() }, query: "nothing stored here" });
    const usage = await client.reportUsage({
      scope,
      returnedIds: [a.memory!.id, b.memory!.id],
      usedIds: [a.memory!.id],
    });
    expect(usage.precision).toBeCloseTo(0.5);
    await expectStatus(
      client.reportUsage({ scope, returnedIds: [a.memory!.id], usedIds: ["not-returned"] }),
      Code.InvalidArgument,
      /^used_ids\[0\]: "not-returned" is not among returned_ids/,
    );
    // Another tenant's memory ids are not this caller's to report on.
    const elsewhere = { namespace: "other-app", userId: randomUUID() };
    await expectStatus(
      client.reportUsage({ scope: elsewhere, returnedIds: [a.memory!.id], usedIds: [a.memory!.id] }),
      Code.NotFound,
      new RegExp(`memory "${a.memory!.id}" was not found`),
    );

    const body = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(body)?.[1] ?? Number.NaN);
    expect(value(/engram_recalls_total\{purpose="recall",empty="false"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(value(/engram_recalls_total\{purpose="recall",empty="true"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(value(/engram_recall_top_score_count\{purpose="recall"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(value(/engram_recalled_memories_total\{type="preference"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(value(/engram_usage_returned_total (\d+)/)).toBe(2);
    expect(value(/engram_usage_used_total (\d+)/)).toBe(1);
    expect(value(/engram_usage_precision_at_k_sum (\S+)/)).toBeCloseTo(0.5);
    expect(body).toMatch(
      /engram_backend_duration_seconds_count\{backend="embedded",tier="long_term",operation="search"\} [1-9]/,
    );
    expect(body).toMatch(/engram_backend_up\{backend="embedded"\} 1/);
    // Sizes are sampled with the health checks.
    await expect
      .poll(
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
          return Number(/engram_store_items\{tier="long_term"\} (\d+)/.exec(text)?.[1] ?? -1);
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBeGreaterThanOrEqual(2);
  });

  it("counts write-gate decisions and personal data found", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const scope = { namespace: "m", userId: randomUUID() };
    await client.remember({ scope, type: MemoryType.EPISODIC, content: "thanks!", applyGate: true });
    await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "I prefer email at ana@example.com",
      applyGate: true,
    });
    const body = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
    expect(body).toMatch(
      /engram_gate_decisions_total\{outcome="dropped",reason="pleasantry",decided_by="rules"\} [1-9]/,
    );
    expect(body).toMatch(
      /engram_gate_decisions_total\{outcome="stored",reason="explicit-preference",decided_by="rules"\} [1-9]/,
    );
    expect(body).toMatch(/engram_pii_findings_total\{kind="email",action="redacted"\} [1-9]/);
  });
});
