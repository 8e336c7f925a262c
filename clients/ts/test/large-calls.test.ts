import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { constants, createServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { createEngramClient, MemoryType, Role } from "../src/index.js";
import { startTestServer, type TestServer } from "../../../test/support/server-harness.js";

/**
 * Concurrent large calls on one connection (finding 13 of issue 21): before,
 * 2 of 6 concurrent 3.4 MB appends failed with INTERNAL (the server's HTTP/2
 * session ran out of its 10 MB of buffers and refused new streams with
 * ENHANCE_YOUR_CALM).
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.destroy());

describe("concurrent large calls on one connection", () => {
  it("all succeed: six appends of 3.2 MB at once", async () => {
    const client = createEngramClient({ baseUrl: server.baseUrl, timeoutMs: 60_000 });
    const scope = { namespace: "ts-client", userId: randomUUID() };
    const content = "word ".repeat(6_400); // 32,000 bytes, under the 32 KiB limit
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        client.appendMessages({
          scope,
          sessionId: `large-${i}`,
          messages: Array.from({ length: 100 }, () => ({ role: Role.USER, content })),
        }),
      ),
    );
    const failures = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    expect(failures).toEqual([]);
  });
});

describe("a call refused unread (ENHANCE_YOUR_CALM)", () => {
  it.each(["ping", "remember"] as const)("is retried, on %s too: it never reached a handler", async (method) => {
    // A stand-in server that resets the first two streams as Node does when a connection's buffers are full.
    let streams = 0;
    const stub = createServer();
    stub.on("stream", (stream) => {
      stream.on("error", () => {});
      if (++streams <= 2) return stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
    await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
    try {
      const client = createEngramClient({
        baseUrl: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`,
        backoffMs: 1,
      });
      const scope = { namespace: "ts-client", userId: "u" };
      await (method === "ping" ? client.ping({}) : client.remember({ scope, type: MemoryType.SEMANTIC, content: "x" }));
      expect(streams).toBe(3);
    } finally {
      stub.close();
    }
  });
});
