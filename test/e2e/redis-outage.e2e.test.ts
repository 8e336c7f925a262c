import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../src/gen/grpc/health/v1/health_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { openClient } from "../support/clients.js";
import { sleep } from "../support/memory-fixtures.js";
import { startRedis, type RedisServer } from "../support/redis-servers.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Redis dies mid-traffic and comes back. Callers see UNAVAILABLE (never a
 * hang or another code), health goes NOT_SERVING and back to SERVING by
 * itself, and every append that was acknowledged is still there.
 */
let redis: RedisServer;
let server: TestServer;
const lines: string[] = [];
beforeAll(async () => {
  redis = await startRedis({ durable: true });
  server = await startTestServer(
    {
      ENGRAM_REDIS_URL: redis.url,
      ENGRAM_HEALTH_CHECK_INTERVAL_MS: "100",
      ENGRAM_REDIS_COMMAND_TIMEOUT_MS: "500",
      ENGRAM_REDIS_CONNECT_TIMEOUT_MS: "500",
      // No compaction: every acknowledged message must still be verbatim.
      ENGRAM_SESSION_TOKEN_LIMIT: "1000000",
      ENGRAM_LOG_LEVEL: "info",
    },
    { log: (line) => lines.push(line) },
  );
});
afterAll(async () => {
  await server?.destroy();
  await redis?.stop();
});

describe("a Redis outage", () => {
  it("costs callers UNAVAILABLE only, loses nothing acknowledged, and heals by itself", async () => {
    const { client } = openClient("grpc", server.baseUrl);
    const health = openClient("grpc", server.baseUrl, Health).client;
    const scope = { namespace: "outage", userId: "u1" };
    const acknowledged: string[] = [];
    const codes = new Map<string, number>();
    let phase: "before" | "down" | "after" = "before";
    let afterSuccesses = 0;

    const writer = async (w: number) => {
      // Bounded: at most 2,000 calls per writer, stopping once recovery is proven.
      for (let i = 0; i < 2000 && afterSuccesses < 200; i++) {
        const content = `w${w}-${i}`;
        try {
          await client.appendMessages(
            { scope, sessionId: "s", messages: [{ role: Role.USER, content }] },
            { timeoutMs: 3000 },
          );
          acknowledged.push(content);
          if (phase === "after") afterSuccesses++;
        } catch (error) {
          const code = Code[ConnectError.from(error).code];
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
        await sleep(5);
      }
    };
    const writers = Promise.all([0, 1, 2, 3].map(writer));

    await expect.poll(() => acknowledged.length, { timeout: 10_000 }).toBeGreaterThan(50);
    await redis.kill();
    phase = "down";
    await expect
      .poll(async () => (await health.check({ service: "" })).status, { timeout: 10_000 })
      .toBe(Status.NOT_SERVING);
    await expect.poll(() => codes.get("Unavailable") ?? 0, { timeout: 10_000 }).toBeGreaterThan(3);
    await redis.restart();
    await expect
      .poll(async () => (await health.check({ service: "" })).status, { timeout: 15_000 })
      .toBe(Status.SERVING);
    phase = "after";
    await writers;

    expect(afterSuccesses).toBeGreaterThanOrEqual(200);
    expect([...codes.keys()]).toEqual(["Unavailable"]);
    const stored = new Set((await client.getMessages({ scope, sessionId: "s" })).messages.map((m) => m.content));
    const lost = acknowledged.filter((c) => !stored.has(c));
    expect(lost).toEqual([]);
    // One line when the outage starts (per method), the repeats counted, not a line per failed call.
    const failures = lines.filter((l) => l.includes('"msg":"rpc failed"') && l.includes("AppendMessages"));
    expect(codes.get("Unavailable")).toBeGreaterThan(3);
    expect(failures.length).toBeLessThanOrEqual(3);
  });
});
