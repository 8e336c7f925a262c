import { connect as connectHttp2, constants } from "node:http2";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient } from "../support/clients.js";
import { refusals, settledRssMiB, silentConnections } from "../support/network-probes.js";
import { rawConnection } from "../support/raw-http2.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Connections are bounded and timed on every listener (finding 2 of issue
 * 21): before, ~20,000 silent TCP connections used up the file descriptors
 * and every port stopped answering, with nothing logged; HTTP/1.1 headers
 * or a body sent a byte at a time, and HTTP/2 streams that sent headers and
 * nothing else, were held for minutes. The limits are shortened here (the
 * defaults are 4096 connections and 10 s / 60 s / 300 s) so that the test
 * takes seconds; the code paths are the defaults'.
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
      ENGRAM_NET_HEADERS_TIMEOUT_SECONDS: "1",
      ENGRAM_NET_BODY_TIMEOUT_SECONDS: "1",
      ENGRAM_NET_IDLE_TIMEOUT_SECONDS: "1.5",
    },
    { log: (line) => lines.push(line) },
  );
});
afterAll(() => server?.destroy());

const ping = async () => {
  const { client, close } = openClient("grpc-js", server.baseUrl);
  try {
    return await client.ping({});
  } finally {
    close();
  }
};

/** Resolves true once the socket is closed by the server, false if `steps` writes of `step` went through first. */
async function trickle(
  socket: Socket,
  step: () => string,
  steps: number,
  everyMs = 100,
): Promise<{ closed: boolean; reply: string }> {
  let reply = "";
  let closed = false;
  socket.on("data", (chunk: Buffer) => (reply += chunk.toString("latin1")));
  socket.once("close", () => (closed = true));
  for (let i = 0; i < steps && !closed; i++) {
    socket.write(step());
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  socket.destroy();
  return { closed, reply };
}

describe("connection limits", () => {
  it.each(["rpc", "metrics", "mcp"] as const)(
    "closes silent connections to the %s port, refuses those past the cap, counts both, and keeps answering",
    async (listener) => {
      const port =
        listener === "rpc"
          ? server.server.port
          : listener === "metrics"
            ? server.server.metricsPort!
            : server.server.mcpPort!;
      const before = {
        connections: await refusals(server, listener, "connections"),
        timeout: await refusals(server, listener, "headers-timeout"),
      };
      const rssBefore = await settledRssMiB();
      const flood = 400;
      const { allClosed, closed } = await silentConnections(port, flood);
      const rssPeak = Math.round(process.memoryUsage().rss / 2 ** 20);
      // Every one ends: dropped on accept past the cap, or closed at the headers timeout (1 s). The bound
      // is wide for a loaded machine. (The 1 of 400 "never closed" seen here was the probe's, not the
      // server's: client sockets in CLOSE-WAIT that nobody read, so Node never saw the server's FIN, and a
      // "close" listener added after the event; silentConnections now reads and listens at once.)
      await expect.poll(closed, { timeout: 30_000, interval: 100 }).toBe(flood);
      await allClosed;
      const dropped = (await refusals(server, listener, "connections")) - before.connections;
      const timedOut = (await refusals(server, listener, "headers-timeout")) - before.timeout;
      expect(dropped + timedOut).toBe(flood);
      expect(dropped).toBeGreaterThan(0);
      expect(timedOut).toBeGreaterThan(0);
      expect((await ping()).serverTime).toBeDefined();
      const rssAfter = await settledRssMiB();
      console.log(
        `[figures] ${flood} silent connections to ${listener}: dropped ${dropped}, timed out ${timedOut}; ` +
          `RSS ${rssBefore} -> ${rssPeak} (peak) -> ${rssAfter} MiB`,
      );
      expect(rssAfter - rssBefore).toBeLessThan(64);
      // Logged once per interval, not once per connection.
      expect(
        lines.filter((l) => l.includes('"network limit hit"') && l.includes(`"listener":"${listener}"`)).length,
      ).toBeLessThanOrEqual(2);
    },
    150_000,
  );

  it("cuts off HTTP/1.1 request headers sent a byte at a time", async () => {
    const before = await refusals(server, "rpc", "headers-timeout");
    const socket = await rawConnection(server.server.port);
    socket.write("POST /engram.v1.MemoryService/Ping HTTP/1.1\r\nHost: engram\r\n");
    // Up to 10 s of trickling; the server closes the connection after 1.
    const { closed } = await trickle(socket, () => "x", 100);
    expect(closed).toBe(true);
    expect(await refusals(server, "rpc", "headers-timeout")).toBe(before + 1);
    expect((await ping()).serverTime).toBeDefined();
  });

  it("cuts off an HTTP/1.1 request body sent a byte at a time with 408", async () => {
    const before = await refusals(server, "rpc", "body-timeout");
    const socket = await rawConnection(server.server.port);
    socket.write(
      "POST /engram.v1.MemoryService/Ping HTTP/1.1\r\nHost: engram\r\n" +
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
    );
    const { closed, reply } = await trickle(socket, () => " ", 100);
    expect(closed).toBe(true);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(await refusals(server, "rpc", "body-timeout")).toBe(before + 1);
  });

  it("resets HTTP/2 streams that send headers and never their body, and closes the idle connection", async () => {
    const bodyBefore = await refusals(server, "rpc", "body-timeout");
    const idleBefore = await refusals(server, "rpc", "idle-timeout");
    const session = connectHttp2(server.baseUrl);
    session.on("error", () => {});
    const streams = Array.from({ length: 20 }, () => {
      const stream = session.request(
        {
          ":method": "POST",
          ":path": "/engram.v1.MemoryService/Ping",
          "content-type": "application/grpc",
          te: "trailers",
        },
        { endStream: false },
      );
      stream.on("error", () => {});
      return new Promise<number | undefined>((resolve) => stream.once("close", () => resolve(stream.rstCode)));
    });
    const codes = await Promise.all(streams);
    expect(codes).toEqual(Array(20).fill(constants.NGHTTP2_CANCEL));
    expect(await refusals(server, "rpc", "body-timeout")).toBe(bodyBefore + 20);
    // With no stream left open the connection is idle, and is closed after the idle timeout.
    await new Promise<void>((resolve) => session.once("close", resolve));
    expect(await refusals(server, "rpc", "idle-timeout")).toBe(idleBefore + 1);
    expect((await ping()).serverTime).toBeDefined();
  });
});
