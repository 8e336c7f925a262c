import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecallRequestSchema } from "../../src/gen/engram/v1/memory_service_pb.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Requests that never reach a handler: bytes that are not the request
 * message (invalid UTF-8 in a string, garbage) and requests over the 4 MiB
 * limit, sent raw over native gRPC. Each gets the right status, and each is
 * counted and logged, though no interceptor saw it.
 */
let server: TestServer;
const lines: string[] = [];
beforeAll(async () => {
  server = await startTestServer({ ENGRAM_LOG_LEVEL: "info" }, { log: (line) => lines.push(line) });
});
afterAll(() => server?.destroy());

const recallPath = "/engram.v1.MemoryService/Recall";

function sendRaw(bytes: Uint8Array): Promise<grpc.ServiceError | undefined> {
  const client = new grpc.Client(server.address, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      recallPath,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      bytes,
      (error) => {
        client.close();
        resolve(error ?? undefined);
      },
    );
  });
}

const count = async (code: string) => {
  const body = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
  const line = body
    .split("\n")
    .find((l) => l.startsWith(`engram_rpc_requests_total{method="engram.v1.MemoryService/Recall",code="${code}"}`));
  return Number(line?.split(" ")[1] ?? 0);
};

/** A Recall whose query is the four bytes FF FE FD FC: not UTF-8. */
function invalidUtf8Recall(): Uint8Array {
  const bytes = toBinary(
    RecallRequestSchema,
    create(RecallRequestSchema, { scope: { namespace: "n", userId: "u" }, query: "QQQQ" }),
  );
  const at = Buffer.from(bytes).indexOf("QQQQ");
  bytes.set([0xff, 0xfe, 0xfd, 0xfc], at);
  return bytes;
}

describe("requests refused before any handler", () => {
  it.each([
    ["invalid UTF-8 in a string field", invalidUtf8Recall()],
    ["bytes that are not a protobuf message", Uint8Array.from([0xff, 0xff, 0xff, 0xff])],
  ])("answers %s with INVALID_ARGUMENT, counted and logged", async (_, bytes) => {
    const before = await count("InvalidArgument");
    const error = await sendRaw(bytes);
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/not a valid engram\.v1\.RecallRequest/);
    expect(await count("InvalidArgument")).toBe(before + 1);
    expect(lines.some((l) => l.includes('"msg":"request refused"') && l.includes("InvalidArgument"))).toBe(true);
  });

  it("answers a request over 4 MiB with RESOURCE_EXHAUSTED, counted and logged", async () => {
    const before = await count("ResourceExhausted");
    const error = await sendRaw(new Uint8Array(5 * 1024 * 1024));
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(await count("ResourceExhausted")).toBe(before + 1);
    expect(lines.some((l) => l.includes('"msg":"request refused"') && l.includes("ResourceExhausted"))).toBe(true);
  });
});
