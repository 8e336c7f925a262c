import { mkdtempSync, writeFileSync } from "node:fs";
import { connect as connectHttp2, constants, type ClientHttp2Session } from "node:http2";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import {
  AssembleContextRequestSchema,
  ExportUserRequestSchema,
  MemoryService,
} from "../../src/gen/engram/v1/memory_service_pb.js";
import { hashToken } from "../../src/rpc/authentication.js";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { metric, refusals, settledRssMiB } from "../support/network-probes.js";
import {
  grpcMessage,
  headersFrame,
  preface,
  rawConnection,
  rawGrpcCall,
  rstFrame,
  settingsFrame,
} from "../support/raw-http2.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Streams are bounded (findings 3 to 6 of issue 21), on a server with bearer
 * tokens. Before: a native gRPC call's body was read whole before its
 * credentials were looked at (200 unauthenticated 3.9 MB streams: RSS 387 MB
 * to 1.1 GB); the cap on health and reflection streams was per address only
 * (80 loopback addresses held 18,240 Watch streams); refusing a stream the
 * peer had just reset threw ERR_HTTP2_INVALID_STREAM out of the "stream"
 * event and ended the process; and a client that stopped reading
 * ExportUser or AssembleContext kept its call and buffers for ever. Limits
 * are shortened so that the test takes seconds.
 */
const token = "stream-limits-token-31337";
let server: TestServer;
beforeAll(async () => {
  const tokens = join(mkdtempSync(join(tmpdir(), "engram-streams-")), "tokens.json");
  writeFileSync(
    tokens,
    JSON.stringify({
      callers: [
        { name: "app", tokenSha256: hashToken(token), namespaces: ["*"], permissions: ["read", "write", "admin"] },
      ],
    }),
  );
  server = await startTestServer({
    ENGRAM_AUTH_TOKENS_FILE: tokens,
    ENGRAM_NET_MAX_UNAUTHENTICATED_CALLS: "40",
    ENGRAM_NET_SLOW_READER_TIMEOUT_SECONDS: "1",
    ENGRAM_NET_MAX_BUFFERED_REQUEST_MIB: "8",
  });
});
afterAll(() => server?.destroy());

const authorization = `Bearer ${token}`;
const client = () =>
  createClient(
    MemoryService,
    createGrpcTransport({
      baseUrl: server.baseUrl,
      interceptors: [(next) => (req) => (req.header.set("authorization", authorization), next(req))],
    }),
  );
const pingAnswers = async () => (await client().ping({})).serverTime !== undefined;

function session(localAddress = "127.0.0.1", settings: { initialWindowSize?: number } = {}): ClientHttp2Session {
  const s = connectHttp2(server.baseUrl, {
    createConnection: () => connectTcp({ host: "127.0.0.1", port: server.server.port, localAddress }),
    settings,
    // The client's own session memory is not what is under test: room for the 3.9 MB bodies it queues.
    maxSessionMemory: 4096,
  });
  s.on("error", () => {});
  return s;
}

const watchPath = "/grpc.health.v1.Health/Watch";
const emptyMessage = grpcMessage(new Uint8Array());

describe("native gRPC authenticates before reading a body", () => {
  it("answers 200 unauthenticated streams of 3.9 MB UNAUTHENTICATED on their headers, holding none of their bytes", async () => {
    const before = await metric(server, "engram_rpc_requests_total", {
      method: "engram.v1.MemoryService/Recall",
      code: "Unauthenticated",
    });
    const rssBefore = await settledRssMiB();
    // A message declared as 3.9 MB, of which 3.8 MB is sent: before, grpc-js held it all, waiting for the rest.
    const big = Buffer.concat([Buffer.from([0, 0, 0x3e, 0x66, 0x66]), Buffer.alloc(3.8 * 2 ** 20, 0x61)]);
    const sessions = [session(), session()];
    // The request never ends: before, grpc-js waited for the whole message before any check.
    const calls = sessions.flatMap((s) =>
      Array.from({ length: 100 }, () => rawGrpcCall(s, "/engram.v1.MemoryService/Recall", { body: big, end: false })),
    );
    const answers = await Promise.all(calls.map((c) => c.answer));
    const rssPeak = Math.round(process.memoryUsage().rss / 2 ** 20);
    expect(new Set(answers)).toEqual(new Set(["16"]));
    expect(
      await metric(server, "engram_rpc_requests_total", {
        method: "engram.v1.MemoryService/Recall",
        code: "Unauthenticated",
      }),
    ).toBe(before + 200);
    for (const s of sessions) s.destroy();
    expect(await pingAnswers()).toBe(true);
    const rssAfter = await settledRssMiB();
    console.log(
      `[figures] 200 unauthenticated 3.9 MB streams: RSS ${rssBefore} -> ${rssPeak} (peak) -> ${rssAfter} MiB`,
    );
    expect(rssAfter - rssBefore).toBeLessThan(64);
  });

  it("holds at most the request-byte budget across authenticated calls still receiving their body", async () => {
    const before = await refusals(server, "rpc", "buffered-bytes");
    const s = session();
    // Three calls each declaring a 3.5 MiB message and sending 3 MiB of it: 9 MiB against an 8 MiB budget, so
    // exactly one goes over (once it is released, the other two fit).
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(3.5 * 2 ** 20, 1);
    const partial = Buffer.concat([prefix, Buffer.alloc(3 * 2 ** 20, 0x61)]);
    const calls = Array.from({ length: 3 }, () =>
      rawGrpcCall(s, "/engram.v1.MemoryService/Recall", { headers: { authorization }, body: partial, end: false }),
    );
    // The call that went over the budget is reset by the server; the others keep waiting for their bodies.
    expect(await Promise.race(calls.map((c) => c.closed))).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(await refusals(server, "rpc", "buffered-bytes")).toBe(before + 1);
    for (const call of calls) call.stream.destroy();
    s.destroy();
    expect(await pingAnswers()).toBe(true);
  });
});

/** Opens `count` Watch streams on a session; resolves with how many opened and how many were refused (and with what). */
async function watches(s: ClientHttp2Session, count: number) {
  const calls = Array.from({ length: count }, () => rawGrpcCall(s, watchPath, { body: emptyMessage }));
  const answers = await Promise.all(calls.map((c) => c.answer));
  return { calls, answers };
}

describe("calls needing no credentials", () => {
  it("are capped in total, so 4 loopback addresses cannot add up past the cap", async () => {
    const before = await refusals(server, "rpc", "unauthenticated-total");
    const perPeerBefore = await refusals(server, "rpc", "unauthenticated-per-peer");
    const rssBefore = await settledRssMiB();
    const sessions = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"].map((address) => session(address));
    const opened = [];
    for (const s of sessions) opened.push(await watches(s, 20));
    const answers = opened.flatMap((o) => o.answers);
    expect(answers.filter((a) => a === "open")).toHaveLength(40);
    expect(answers.filter((a) => a === "8")).toHaveLength(40);
    expect(await refusals(server, "rpc", "unauthenticated-total")).toBe(before + 40);
    // Each address stayed under its own cap: only the total refused.
    expect(await refusals(server, "rpc", "unauthenticated-per-peer")).toBe(perPeerBefore);
    expect(await pingAnswers()).toBe(true);
    for (const s of sessions) s.destroy();
    // Freed once they end.
    await expect
      .poll(async () => {
        const s = session("127.0.0.6");
        const { answers } = await watches(s, 1);
        s.destroy();
        return answers[0];
      })
      .toBe("open");
    console.log(
      `[figures] 80 Watch streams from 4 addresses: 40 admitted; RSS ${rssBefore} -> ${await settledRssMiB()} MiB`,
    );
  });

  it("never end the process when refused streams are reset before the refusal, or their connections dropped", async () => {
    // Fill the caps (the total, and 127.0.0.2's own of 256), so that every further health stream takes the refusal path.
    const holders = Array.from({ length: 3 }, () => session("127.0.0.2"));
    for (const s of holders) await watches(s, 90);
    for (let round = 0; round < 10; round++) {
      const sockets = await Promise.all(
        ["127.0.0.2", "127.0.0.7", "127.0.0.8", "127.0.0.9"].map((address) =>
          rawConnection(server.server.port, address),
        ),
      );
      for (const socket of sockets) {
        const frames = [preface, settingsFrame()];
        // HEADERS then RST_STREAM(NO_ERROR) in one write: Node closes the stream before its "stream" event runs.
        for (let id = 1; id < 100; id += 2) frames.push(headersFrame(id, watchPath), rstFrame(id));
        // A MemoryService call too, and a half-written frame, before the connection drops.
        frames.push(headersFrame(101, "/engram.v1.MemoryService/Ping", { authorization }), rstFrame(101));
        frames.push(headersFrame(103, watchPath).subarray(0, 12));
        socket.write(Buffer.concat(frames));
      }
      // Long enough for the server to read the frames (a reset connection's unread bytes are discarded), then dropped.
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const socket of sockets) socket.destroy();
    }
    for (const s of holders) s.destroy();
    // The process is this one: an uncaught exception would have failed the run.
    expect(await pingAnswers()).toBe(true);
  });
});

describe("slow readers", () => {
  it("are cut off: ExportUser and AssembleContext to a client with a zero flow-control window are reset, their buffers released", async () => {
    const scope = { namespace: "slow", userId: "reader" };
    for (let i = 0; i < 3; i++) {
      await client().remember({ scope, type: MemoryType.SEMANTIC, content: `fact ${i}: ${"x".repeat(4000)}` });
    }
    const before = await refusals(server, "rpc", "slow-reader");
    const rssBefore = await settledRssMiB();
    const export_ = grpcMessage(toBinary(ExportUserRequestSchema, create(ExportUserRequestSchema, { scope })));
    const assemble = grpcMessage(
      toBinary(
        AssembleContextRequestSchema,
        create(AssembleContextRequestSchema, {
          scope,
          query: "fact",
          tokenBudget: 100_000,
          documents: [{ id: "d", content: "y".repeat(60_000) }],
        }),
      ),
    );
    const s = session("127.0.0.1", { initialWindowSize: 0 });
    const calls = [
      ...Array.from({ length: 25 }, () =>
        rawGrpcCall(s, "/engram.v1.MemoryService/ExportUser", { headers: { authorization }, body: export_ }),
      ),
      ...Array.from({ length: 25 }, () =>
        rawGrpcCall(s, "/engram.v1.MemoryService/AssembleContext", { headers: { authorization }, body: assemble }),
      ),
    ];
    const codes = await Promise.all(calls.map((c) => c.closed));
    expect(codes).toEqual(Array(50).fill(constants.NGHTTP2_CANCEL));
    expect(await refusals(server, "rpc", "slow-reader")).toBe(before + 50);
    expect(await pingAnswers()).toBe(true);
    s.destroy();
    console.log(`[figures] 50 abandoned server-streaming calls: RSS ${rssBefore} -> ${await settledRssMiB()} MiB`);
  });
});
