import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refusals, silentConnections } from "../support/network-probes.js";
import { rawConnection } from "../support/raw-http2.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * One client address cannot take every connection a listener allows (issue
 * 21, item 5): before, the cap was only global, so one address holding it
 * locked every other client out until the headers timeout. Now each address
 * may hold ENGRAM_NET_MAX_CONNECTIONS_PER_ADDRESS (1024 of 4096 by default;
 * 40 of 100 here, so that the flood is small); the rest are closed on
 * accept and counted, and another address still gets in.
 */
let server: TestServer;
const lines: string[] = [];
beforeAll(async () => {
  server = await startTestServer(
    {
      ENGRAM_LOG_LEVEL: "warn",
      ENGRAM_MCP_ENABLED: "true",
      ENGRAM_MCP_PORT: "0",
      ENGRAM_NET_MAX_CONNECTIONS: "100",
      ENGRAM_NET_MAX_CONNECTIONS_PER_ADDRESS: "40",
    },
    { log: (line) => lines.push(line) },
  );
});
afterAll(() => server?.destroy());

/** One HTTP/1.1 request from `localAddress` on a new connection; the status line of the reply, or "" if the connection closed without one. */
async function requestFrom(port: number, localAddress: string, request: string): Promise<string> {
  const socket = await rawConnection(port, localAddress);
  let reply = "";
  socket.on("data", (chunk: Buffer) => (reply += chunk.toString("latin1")));
  socket.on("error", () => {});
  socket.write(request);
  await new Promise((resolve) => socket.once("close", resolve));
  return reply.split("\r\n")[0] ?? "";
}

const requests = {
  rpc:
    "POST /engram.v1.MemoryService/Ping HTTP/1.1\r\nHost: engram\r\nContent-Type: application/json\r\n" +
    "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
  metrics: "GET /metrics HTTP/1.1\r\nHost: engram\r\nConnection: close\r\n\r\n",
  mcp: "GET /healthz HTTP/1.1\r\nHost: engram\r\nConnection: close\r\n\r\n",
};

describe("connections per address", () => {
  it.each(["rpc", "metrics", "mcp"] as const)(
    "on the %s port, one address holds at most its share and another still gets in",
    async (listener) => {
      const port =
        listener === "rpc"
          ? server.server.port
          : listener === "metrics"
            ? server.server.metricsPort!
            : server.server.mcpPort!;
      const before = await refusals(server, listener, "connections-per-address");
      const flood = await silentConnections(port, 150, ["127.0.0.11"]);
      try {
        // 40 held, 110 closed on accept.
        await expect
          .poll(() => refusals(server, listener, "connections-per-address"), { timeout: 30_000, interval: 100 })
          .toBe(before + 110);
        expect(flood.closed()).toBeGreaterThanOrEqual(110);
        const status = await requestFrom(port, "127.0.0.12", requests[listener]);
        expect(status).toMatch(/^HTTP\/1\.1 (200|404)/);
        if (listener !== "mcp") expect(status).toMatch(/^HTTP\/1\.1 200/);
      } finally {
        for (const socket of flood.sockets) socket.destroy();
      }
      expect(
        lines.filter(
          (l) =>
            l.includes('"network limit hit"') &&
            l.includes('"connections-per-address"') &&
            l.includes(`"listener":"${listener}"`),
        ).length,
      ).toBe(1);
    },
    60_000,
  );
});
