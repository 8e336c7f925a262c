import { connect as connectHttp2 } from "node:http2";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { grpcMessage, rawGrpcCall } from "../support/raw-http2.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Secrets never reach the log, whatever a library prints (finding 11 of
 * issue 21): grpc-js prints a request header it cannot parse with its
 * value, and before, a malformed `authorization` header (a bearer token
 * with a character outside printable ASCII) went to stderr and into the
 * log at error level as it was.
 */
const secret = "s3cr3t-t0ken-4417";
let server: TestServer;
const lines: string[] = [];
beforeAll(async () => {
  server = await startTestServer({ ENGRAM_LOG_LEVEL: "debug" }, { log: (line) => lines.push(line) });
});
afterAll(() => server?.destroy());

describe("library output", () => {
  it("goes to the structured log with a malformed authorization header's value withheld", async () => {
    const printed: string[] = [];
    const spies = (["error", "warn", "info", "log", "debug"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args.join(" "))),
    );
    try {
      const session = connectHttp2(server.baseUrl);
      session.on("error", () => {});
      const call = rawGrpcCall(session, "/engram.v1.MemoryService/Ping", {
        headers: { authorization: `Bearer ${secret}\u00e9`, "x-api-key": `${secret}\u00e9` },
        body: grpcMessage(new Uint8Array()),
      });
      await call.closed;
      session.destroy();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const library = lines.filter((l) => l.includes('"library output"') && l.includes("grpc-js"));
    expect(library.some((l) => l.includes("Failed to add metadata entry authorization"))).toBe(true);
    expect([...lines, ...printed].join("\n")).not.toContain(secret);
  });
});
