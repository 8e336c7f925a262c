import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limits } from "../../src/domain/limits.js";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.js";
import { connectTransport } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Floods of streams that need no credentials: Health/Watch opened and
 * cancelled by the thousand leave memory and the log as they were, count
 * as CANCELLED, and past the per-peer cap are refused while the server
 * keeps serving.
 */
let server: TestServer;
const lines: string[] = [];
beforeAll(async () => {
  server = await startTestServer({ ENGRAM_LOG_LEVEL: "info" }, { log: (line) => lines.push(line) });
  // A first flood over both paths warms them and lets this process's allocator reach its working size.
  await watchAndCancel("grpc", 1500);
  await watchAndCancel("grpc-web", 1500);
});
afterAll(() => server?.destroy());

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const settledRss = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return process.memoryUsage().rss;
};

/**
 * Opens a Watch, waits for its first status, then cancels it; `batch` at a
 * time, on a new connection every 250 (HTTP/2's rapid-reset defence ends a
 * connection that cancels a thousand streams in a burst).
 */
async function watchAndCancel(kind: "grpc" | "grpc-web", count: number, batch = 50): Promise<void> {
  const connect = () => {
    const sessionManager = new Http2SessionManager(server.baseUrl);
    const transport = (kind === "grpc" ? createGrpcTransport : createGrpcWebTransport)({
      baseUrl: server.baseUrl,
      httpVersion: "2",
      sessionManager,
    });
    return { health: createClient(Health, transport), sessionManager };
  };
  let { health, sessionManager } = connect();
  for (let done = 0; done < count; done += batch) {
    if (done > 0 && done % 250 === 0) {
      sessionManager.abort();
      ({ health, sessionManager } = connect());
    }
    await Promise.all(
      Array.from({ length: batch }, async () => {
        const cancel = new AbortController();
        const updates = health.watch({ service: "" }, { signal: cancel.signal })[Symbol.asyncIterator]();
        await updates.next();
        cancel.abort();
        await updates.next().catch(() => {});
      }),
    );
  }
  sessionManager.abort();
}

const watchCount = async (code: string) => {
  const body = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
  const line = body
    .split("\n")
    .find((l) => l.startsWith(`engram_rpc_requests_total{method="grpc.health.v1.Health/Watch",code="${code}"}`));
  return Number(line?.split(" ")[1] ?? 0);
};

describe.each(["grpc", "grpc-web"] as const)("Health/Watch floods over %s", (kind) => {
  it("thousands opened and cancelled: CANCELLED at debug, memory back near its start, a quiet log", async () => {
    const rssBefore = await settledRss();
    const heapBefore = process.memoryUsage().heapUsed;
    const logBefore = lines.length;
    const cancelledBefore = await watchCount("Canceled");
    await watchAndCancel(kind, 3000);
    const grown = (await settledRss()) - rssBefore;
    const heapGrown = process.memoryUsage().heapUsed - heapBefore;
    expect(await watchCount("Canceled")).toBe(cancelledBefore + 3000);
    expect(await watchCount("Internal")).toBe(0);
    expect(lines.slice(logBefore).filter((l) => !l.includes('"health changed"'))).toEqual([]);
    // A leak of even 16 KB per stream would show as 48 MB here.
    expect(grown).toBeLessThan(48 * 1024 * 1024);
    expect(heapGrown).toBeLessThan(16 * 1024 * 1024);
  });
});

describe("open unauthenticated calls per peer", () => {
  it("refuses those past the cap with RESOURCE_EXHAUSTED, and serves again once they end", async () => {
    const cap = limits.openUnauthenticatedCallsPerPeer;
    // Several connections, each under its own stream limit, together past the peer's cap.
    const connections = 4;
    const perConnection = Math.ceil((cap + 40) / connections);
    expect(perConnection).toBeLessThan(limits.streamsPerConnection);
    const cancel = new AbortController();
    const outcomes = await Promise.all(
      Array.from({ length: connections }, () => createClient(Health, connectTransport("grpc", server.baseUrl))).flatMap(
        (health) =>
          Array.from({ length: perConnection }, async () => {
            const updates = health.watch({ service: "" }, { signal: cancel.signal })[Symbol.asyncIterator]();
            return updates.next().then(
              () => "open",
              (error: unknown) => ConnectError.from(error).code,
            );
          }),
      ),
    );
    const refused = outcomes.filter((o) => o !== "open");
    expect(outcomes.filter((o) => o === "open")).toHaveLength(cap);
    expect(new Set(refused)).toEqual(new Set([Code.ResourceExhausted]));
    cancel.abort();
    await expect
      .poll(async () => {
        const health = createClient(Health, connectTransport("grpc", server.baseUrl));
        const probe = new AbortController();
        const first = await health
          .watch({ service: "" }, { signal: probe.signal })
          [Symbol.asyncIterator]()
          .next()
          .then(
            () => "open",
            () => "refused",
          );
        probe.abort();
        return first;
      })
      .toBe("open");
  });
});
