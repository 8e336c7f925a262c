import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../src/gen/grpc/health/v1/health_pb.js";
import { openClient } from "../support/clients.js";
import { sleep } from "../support/memory-fixtures.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import { startWeaviate, type WeaviateServer } from "../support/weaviate-server.js";

/**
 * Weaviate dies mid-traffic and comes back on the same data. Callers see
 * UNAVAILABLE or their own deadline (never a hang past it), health goes
 * NOT_SERVING and back by itself, and every acknowledged memory is there.
 */
let weaviate: WeaviateServer;
let server: TestServer;
beforeAll(async () => {
  weaviate = await startWeaviate();
  server = await startTestServer({
    ENGRAM_WEAVIATE_URL: weaviate.url,
    ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
    ENGRAM_WEAVIATE_TIMEOUT_MS: "2000",
    ENGRAM_HEALTH_CHECK_INTERVAL_MS: "100",
  });
});
afterAll(async () => {
  await server?.destroy();
  await weaviate?.stop();
});

describe("a Weaviate outage", () => {
  it("costs callers UNAVAILABLE only, loses nothing acknowledged, and heals by itself", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const health = openClient("grpc", server.baseUrl, Health).client;
    const scope = { namespace: "outage", userId: "w1" };
    const acknowledged = new Map<string, string>();
    const codes = new Map<string, number>();
    let phase: "before" | "down" | "after" = "before";
    let afterSuccesses = 0;

    const writer = async (w: number) => {
      for (let i = 0; i < 3000 && afterSuccesses < 60; i++) {
        const content = `fact ${w}-${i} about the user's travel plans`;
        try {
          const { memory } = await client.remember(
            { scope, type: MemoryType.SEMANTIC, content, importance: 0.5 },
            { timeoutMs: 3000 },
          );
          acknowledged.set(memory!.id, content);
          if (phase === "after") afterSuccesses++;
        } catch (error) {
          const code = Code[ConnectError.from(error).code];
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
        await sleep(10);
      }
    };
    const writers = Promise.all([0, 1, 2].map(writer));

    await expect.poll(() => acknowledged.size, { timeout: 20_000 }).toBeGreaterThan(20);
    await weaviate.kill();
    phase = "down";
    await expect
      .poll(async () => (await health.check({ service: "" })).status, { timeout: 10_000 })
      .toBe(Status.NOT_SERVING);
    await expect.poll(() => codes.size, { timeout: 10_000 }).toBeGreaterThan(0);
    await weaviate.restart();
    await expect
      .poll(async () => (await health.check({ service: "" })).status, { timeout: 30_000 })
      .toBe(Status.SERVING);
    phase = "after";
    await writers;

    expect(afterSuccesses).toBeGreaterThanOrEqual(60);
    // A call that outlived its own 3 s deadline reports that; anything else is UNAVAILABLE.
    expect([...codes.keys()].filter((c) => c !== "Unavailable" && c !== "DeadlineExceeded")).toEqual([]);
    expect(codes.get("Unavailable") ?? 0).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const id of acknowledged.keys()) {
      await client.getMemory({ scope, memoryId: id }).catch(() => missing.push(id));
    }
    expect(missing).toEqual([]);
  });
});
