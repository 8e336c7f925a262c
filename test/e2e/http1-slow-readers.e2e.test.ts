import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient } from "../support/clients.js";
import { randomWords } from "../support/adversarial-texts.js";
import { refusals, settledRssMiB } from "../support/network-probes.js";
import { rawConnection } from "../support/raw-http2.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * HTTP/1.1 clients that stop reading a response are cut off at the
 * slow-reader timeout (issue 21, item 2 on HTTP/1.1): before, only the idle
 * timeout (300 s by default) ended the connection, and the response's bytes
 * waited in the socket's buffer meanwhile. The timeout is 1 s here (30 s by
 * default).
 */
let server: TestServer;
const lines: string[] = [];
beforeAll(async () => {
  server = await startTestServer(
    {
      ENGRAM_LOG_LEVEL: "warn",
      ENGRAM_MCP_ENABLED: "true",
      ENGRAM_MCP_PORT: "0",
      ENGRAM_NET_SLOW_READER_TIMEOUT_SECONDS: "1",
    },
    { log: (line) => lines.push(line) },
  );
});
afterAll(() => server?.destroy());

/** A Connect server-streaming request over HTTP/1.1: one enveloped JSON message. */
function connectStreamingRequest(path: string, message: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const envelope = Buffer.alloc(5);
  envelope.writeUInt32BE(json.length, 1);
  const body = Buffer.concat([envelope, json]);
  const head =
    `POST ${path} HTTP/1.1\r\nHost: engram\r\nContent-Type: application/connect+json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

describe("HTTP/1.1 slow readers", () => {
  it("a Connect ExportUser over HTTP/1.1 that is never read is cut off, counted, and its memory returned", async () => {
    const scope = { namespace: "slow-http1", userId: randomUUID() };
    const { client, close } = openClient("grpc", server.baseUrl);
    try {
      // 16 MiB of working state to export: more than loopback's socket buffers take while nobody reads
      // (the server's send buffer grows to 4 MiB; 3.4 MB of memories went through unread).
      for (let call = 0; call < 4; call++) {
        const entries = Array.from({ length: 64 }, (_, i) => [`e${call}-${i}`, randomWords(i, 64 * 1024 - 16)]);
        await client.setWorking({ scope, taskId: "draft", entries: Object.fromEntries(entries) });
      }
      const before = await refusals(server, "rpc", "slow-reader");
      const rssBefore = await settledRssMiB();
      const readers = 5;
      const sockets: Socket[] = [];
      for (let i = 0; i < readers; i++) {
        const socket = await rawConnection(server.server.port);
        socket.on("error", () => {});
        // Never read: no "data" listener, so the socket stays paused and the kernel's window fills.
        socket.write(connectStreamingRequest("/engram.v1.MemoryService/ExportUser", { scope }));
        sockets.push(socket);
      }
      const closed = () => sockets.filter((s) => s.destroyed || s.readableEnded).length;
      const isClosed = sockets.map((s) => new Promise((resolve) => s.once("close", resolve)));
      // Cut after 1 s without progress; the bound is wide (the idle timeout, which used to be the only one, is 300 s).
      await expect
        .poll(() => refusals(server, "rpc", "slow-reader"), { timeout: 60_000, interval: 200 })
        .toBe(before + readers);
      for (const socket of sockets) socket.resume();
      await Promise.all(isClosed);
      expect(closed()).toBe(readers);
      expect((await client.ping({})).serverTime).toBeDefined();
      const rssAfter = await settledRssMiB();
      console.log(`[figures] ${readers} unread HTTP/1.1 exports of 16 MiB: RSS ${rssBefore} -> ${rssAfter} MiB`);
      expect(rssAfter - rssBefore).toBeLessThan(64);
      expect(
        lines.filter(
          (l) => l.includes('"network limit hit"') && l.includes('"slow-reader"') && l.includes('"listener":"rpc"'),
        ).length,
      ).toBe(1);
    } finally {
      close();
    }
  }, 120_000);
});
