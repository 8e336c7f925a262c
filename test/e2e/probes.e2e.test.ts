import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../src/gen/grpc/health/v1/health_pb.js";
import { TestAuthority } from "../support/certificates.js";
import { openClient } from "../support/clients.js";
import { startRedis } from "../support/redis-servers.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import { startWeaviate } from "../support/weaviate-server.js";

/**
 * Liveness is the process, readiness the backends: a backend that is down
 * (even at start-up) makes the server NOT_SERVING for readiness only, so
 * probes never restart a pod for an outage, and the server recovers by
 * itself. The same answers are served over plain HTTP (/livez, /readyz) for
 * probes that cannot speak gRPC over TLS.
 */
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function probe(server: TestServer, path: "/livez" | "/readyz"): Promise<number> {
  return (await fetch(`http://127.0.0.1:${server.server.metricsPort}${path}`)).status;
}

async function statuses(server: TestServer) {
  const { client } = openClient("grpc", server.baseUrl, Health);
  return {
    liveness: (await client.check({ service: "liveness" })).status,
    readiness: (await client.check({ service: "readiness" })).status,
    server: (await client.check({ service: "" })).status,
  };
}

const notReady = { liveness: Status.SERVING, readiness: Status.NOT_SERVING, server: Status.NOT_SERVING };
const ready = { liveness: Status.SERVING, readiness: Status.SERVING, server: Status.SERVING };

describe("liveness and readiness", () => {
  it("starts with Redis down: alive, not ready, and ready once Redis appears", async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    await redis.kill();
    const server = await startTestServer({
      ENGRAM_REDIS_URL: redis.url,
      ENGRAM_REDIS_CONNECT_TIMEOUT_MS: "200",
      ENGRAM_HEALTH_CHECK_INTERVAL_MS: "100",
    });
    cleanups.push(() => server.destroy());
    await expect.poll(() => statuses(server)).toEqual(notReady);
    expect([await probe(server, "/livez"), await probe(server, "/readyz")]).toEqual([200, 503]);
    await redis.restart();
    await expect.poll(() => statuses(server), { timeout: 30_000 }).toEqual(ready);
    expect([await probe(server, "/livez"), await probe(server, "/readyz")]).toEqual([200, 200]);
  });

  it("starts with Weaviate down: alive, UNAVAILABLE, then creates its collection and serves once Weaviate appears", async () => {
    const weaviate = await startWeaviate();
    cleanups.push(() => weaviate.stop());
    await weaviate.kill();
    const server = await startTestServer({
      ENGRAM_WEAVIATE_URL: weaviate.url,
      ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
      ENGRAM_WEAVIATE_TIMEOUT_MS: "1000",
      ENGRAM_HEALTH_CHECK_INTERVAL_MS: "100",
    });
    cleanups.push(() => server.destroy());
    await expect.poll(() => statuses(server)).toEqual(notReady);
    expect(await probe(server, "/readyz")).toBe(503);
    const { client } = openClient("grpc", server.baseUrl);
    const remember = () =>
      client.remember({
        scope: { namespace: "probes", userId: "late-weaviate" },
        type: MemoryType.PREFERENCE,
        content: "I prefer Python for scripting tasks",
        importance: 0.7,
      });
    const refused = await remember().catch((e: unknown) => ConnectError.from(e));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unavailable);

    await weaviate.restart();
    await expect.poll(() => statuses(server), { timeout: 60_000 }).toEqual(ready);
    const { memory } = await remember();
    expect(memory?.content).toBe("I prefer Python for scripting tasks");
  });

  it("reports liveness NOT_SERVING once draining", async () => {
    const server = await startTestServer();
    await expect.poll(() => statuses(server)).toEqual(ready);
    const { client } = openClient("grpc", server.baseUrl, Health);
    const seen: Status[] = [];
    try {
      for await (const update of client.watch({ service: "liveness" })) {
        seen.push(update.status);
        if (update.status === Status.SERVING) void server.destroy();
      }
    } catch {
      // The server went away, as asked.
    }
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
  });

  it("answers /livez and /readyz over plain HTTP while the RPC port requires TLS and client certificates", async () => {
    const authority = await TestAuthority.create("probes");
    const cert = await authority.issue("engram", { ip: "127.0.0.1" });
    const server = await startTestServer({
      ENGRAM_TLS_CERT_FILE: cert.certFile,
      ENGRAM_TLS_KEY_FILE: cert.keyFile,
      ENGRAM_TLS_CLIENT_CA_FILE: authority.root.certFile,
      ENGRAM_MTLS_ALLOW_ANY_CN: "true",
    });
    cleanups.push(() => server.destroy());
    await expect.poll(() => probe(server, "/readyz")).toBe(200);
    expect(await probe(server, "/livez")).toBe(200);
  });
});
