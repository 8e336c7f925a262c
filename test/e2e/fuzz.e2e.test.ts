import { connect } from "node:http2";
import { create, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Random and malformed input to every RPC, binary and Connect JSON: the
 * server answers only with defined statuses, never crashes, and never
 * applies half a write. Seeded, so a failure reproduces.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.destroy());

/** Mulberry32: small, seeded, good enough for test inputs. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const nasty = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\u202eevil",
  "zero\u200bwidth",
  "😀".repeat(50),
  "\ud800",
  "\udfff\ud800",
  "ﬁ",
  "../../etc/passwd",
  "'; DROP TABLE memories; --",
  "{}",
  "__proto__",
  "constructor",
  "x".repeat(40_000),
  "é".repeat(20_000),
  "\r\n\t\u0007",
  "<|endoftext|>",
  "ns",
  "user-1",
];
const defined = new Set([Code.InvalidArgument, Code.NotFound, Code.ResourceExhausted, Code.DeadlineExceeded]);

function randomValue(rand: () => number, depth = 0): unknown {
  const pick = rand();
  if (pick < 0.35) return nasty[Math.floor(rand() * nasty.length)];
  if (pick < 0.5) return [-1, 0, 1, 2 ** 31, -(2 ** 31), 1e308, 0.5, 101, 7][Math.floor(rand() * 9)];
  if (pick < 0.6) return rand() < 0.5;
  if (pick < 0.7 && depth < 2)
    return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  if (pick < 0.85 && depth < 2) {
    return Object.fromEntries(
      Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [`k${i}`, randomValue(rand, depth + 1)]),
    );
  }
  return null;
}

/** A request message with random values in its fields, well-typed for the binary path. */
function randomMessage(schema: DescMessage, rand: () => number, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (rand() < 0.3) continue;
    const text = () => nasty[Math.floor(rand() * nasty.length)]!;
    const num = () => [-1, 0, 1, 3, 99, 101, 2 ** 31 - 1, -(2 ** 31)][Math.floor(rand() * 8)]!;
    const scalar = (): unknown => {
      if (field.fieldKind === "enum") return num();
      if (field.fieldKind === "message") return depth < 2 ? randomMessage(field.message, rand, depth + 1) : {};
      switch (field.scalar) {
        case 9: // string
          return text();
        case 8: // bool
          return rand() < 0.5;
        case 2: // float
        case 1: // double
          return [-1, 0, 0.5, 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY][Math.floor(rand() * 7)];
        case 3: // int64
        case 4: // uint64
          return BigInt(num() < 0 ? 0 : num());
        default:
          return num();
      }
    };
    if (field.fieldKind === "list") {
      init[field.localName] = Array.from({ length: Math.floor(rand() * 4) }, () =>
        field.listKind === "message"
          ? randomMessage(field.message, rand, depth + 1)
          : field.listKind === "enum"
            ? num()
            : text(),
      );
    } else if (field.fieldKind === "map") {
      init[field.localName] = Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 3) }, () => [text(), text()]),
      );
    } else {
      init[field.localName] = scalar();
    }
  }
  return init;
}

/** A raw Connect-protocol JSON POST over HTTP/2 (the server speaks h2c only). */
function postJson(path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(server.baseUrl);
    session.on("error", reject);
    const request = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/json",
      "connect-protocol-version": "1",
    });
    let status = 0;
    let text = "";
    request.on("response", (headers) => (status = Number(headers[":status"])));
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (text += chunk));
    request.on("end", () => {
      session.close();
      resolve({ status, body: text });
    });
    request.on("error", reject);
    request.end(body);
  });
}

describe("fuzzing every RPC", () => {
  it.each(MemoryService.methods.map((m) => [m.name, m] as const))(
    "%s answers random binary input with defined statuses only",
    async (_, method) => {
      const client = createClient(
        MemoryService,
        createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" }),
      ) as unknown as Record<string, (req: unknown, opts?: unknown) => unknown>;
      const rand = prng(method.name.length * 7919);
      for (let i = 0; i < 40; i++) {
        const request = create(method.input, randomMessage(method.input, rand) as never);
        try {
          const result = client[method.localName]!(request, { timeoutMs: 10_000 });
          if (method.methodKind === "server_streaming") {
            for await (const _ of result as AsyncIterable<unknown>) {
              // drain
            }
          } else {
            await result;
          }
        } catch (error) {
          const code = ConnectError.from(error).code;
          expect(defined.has(code), `${method.name} #${i}: ${Code[code]} ${ConnectError.from(error).rawMessage}`).toBe(
            true,
          );
        }
      }
    },
  );

  it.each(MemoryService.methods.map((m) => [m.name] as const))(
    "%s answers malformed Connect JSON (wrong types, nulls, junk) with a client error",
    async (name) => {
      const rand = prng(name.length * 104729);
      for (let i = 0; i < 25; i++) {
        const body = i % 5 === 0 ? "{not json" : JSON.stringify(randomValue(rand));
        const response = await postJson(`/engram.v1.MemoryService/${name}`, body);
        // 200: an answer; 415: a stream needs the enveloped connect+json type, a client error.
        if (response.status === 200 || response.status === 415) continue;
        const error = JSON.parse(response.body) as { code: string };
        expect(
          ["invalid_argument", "not_found", "resource_exhausted", "unimplemented"],
          `${name} ${body.slice(0, 80)}`,
        ).toContain(error.code);
      }
    },
  );

  it("stays up and applies nothing of a rejected write", async () => {
    const client = createClient(MemoryService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" }));
    await client.ping({});
    const scope = { namespace: "fuzz", userId: "atomic" };
    const error = await client
      .appendMessages({
        scope,
        sessionId: "s",
        messages: [
          { role: 1, content: "fine" },
          { role: 1, content: "\u0000" },
        ],
      })
      .catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    const read = await client.getMessages({ scope, sessionId: "s" }).catch((e: unknown) => ConnectError.from(e));
    expect((read as ConnectError).code).toBe(Code.NotFound);
  });
});
