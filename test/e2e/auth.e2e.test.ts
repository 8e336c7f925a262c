import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkListenerSecurity, ConfigError, loadConfig } from "../../src/config.js";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { hashToken } from "../../src/rpc/authentication.js";
import { connectTransport } from "../support/clients.js";
import { expectStatus } from "../support/expect-status.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";

/** Bearer tokens bound to namespaces and permissions, on every RPC. */
const dir = mkdtempSync(join(tmpdir(), "engram-auth-"));
const tokensFile = join(dir, "tokens.json");
writeFileSync(
  tokensFile,
  JSON.stringify({
    callers: [
      { name: "chat-api", tokenSha256: hashToken("chat-token"), namespaces: ["chat"], permissions: ["read", "write"] },
      { name: "dashboards", tokenSha256: hashToken("reader-token"), namespaces: ["chat"], permissions: ["read"] },
      { name: "ops", tokenSha256: hashToken("ops-token"), namespaces: ["*"], permissions: ["read", "write", "admin"] },
    ],
  }),
);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ ENGRAM_AUTH_TOKENS_FILE: tokensFile });
});
afterAll(async () => {
  await server?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const as = (token: string | undefined) => {
  const interceptors: Interceptor[] = token
    ? [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))]
    : [];
  return createClient(MemoryService, createGrpcTransport({ baseUrl: server.baseUrl, interceptors }));
};

const chat = { namespace: "chat", userId: "u1" };
const other = { namespace: "billing", userId: "u1" };
type AnyClient = ReturnType<typeof as>;
const drain = async (stream: AsyncIterable<unknown>) => {
  for await (const _ of stream) {
    // consume
  }
};

/** Every RPC, with the permission it needs, called in a given scope. */
const calls: [string, "read" | "write" | "admin", (c: AnyClient, scope: typeof chat) => Promise<unknown>][] = [
  [
    "AppendMessages",
    "write",
    (c, scope) =>
      c.appendMessages({ scope, sessionId: "s", messages: [{ role: Role.USER, content: "hi there friend" }] }),
  ],
  ["GetMessages", "read", (c, scope) => c.getMessages({ scope, sessionId: "s" })],
  ["SetWorking", "write", (c, scope) => c.setWorking({ scope, taskId: "t", entries: { k: "v" } })],
  ["GetWorking", "read", (c, scope) => c.getWorking({ scope, taskId: "t" })],
  ["ListWorking", "read", (c, scope) => c.listWorking({ scope })],
  ["Remember", "write", (c, scope) => c.remember({ scope, type: MemoryType.SEMANTIC, content: "a fact" })],
  ["Recall", "read", (c, scope) => c.recall({ scope, query: "fact" })],
  ["GetMemory", "read", (c, scope) => c.getMemory({ scope, memoryId: "m" })],
  ["ForgetMemory", "write", (c, scope) => c.forgetMemory({ scope, memoryId: "m" })],
  ["ReportUsage", "read", (c, scope) => c.reportUsage({ scope, returnedIds: ["m"], usedIds: [] })],
  ["AssembleContext", "read", (c, scope) => drain(c.assembleContext({ scope, tokenBudget: 100 }))],
  ["CompleteTask", "write", (c, scope) => c.completeTask({ scope, taskId: "t" })],
  ["EndSession", "write", (c, scope) => c.endSession({ scope, sessionId: "s" })],
  [
    "EvictStale (one user)",
    "write",
    (c, scope) => c.evictStale({ namespace: scope.namespace, userId: scope.userId, dryRun: true }),
  ],
  ["EvictStale (a namespace)", "admin", (c, scope) => c.evictStale({ namespace: scope.namespace, dryRun: true })],
  ["ForgetUser", "admin", (c, scope) => c.forgetUser({ scope })],
  ["MemoryHistory", "read", (c, scope) => c.memoryHistory({ scope, memoryId: "m" })],
  ["ListMemories", "read", (c, scope) => c.listMemories({ scope })],
  ["UpdateMemory", "write", (c, scope) => c.updateMemory({ scope, memoryId: "m", importance: 0.5 })],
  [
    "ImportMemories",
    "write",
    (c, scope) => c.importMemories({ scope, memories: [{ type: MemoryType.SEMANTIC, content: "an imported fact" }] }),
  ],
  ["ExportUser", "admin", (c, scope) => drain(c.exportUser({ scope }))],
];

/** A call that got past authentication and authorization (it may still be NOT_FOUND). */
async function expectAllowed(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: { code?: Code }) => e,
  );
  if (error) expect(Code[error.code ?? Code.Unknown]).toBe("NotFound");
}

describe.each(calls)("%s", (_, permission, call) => {
  it("is UNAUTHENTICATED without credentials or with an unknown token", async () => {
    await expectStatus(call(as(undefined), chat), Code.Unauthenticated, /missing bearer token/);
    await expectStatus(call(as("wrong-token"), chat), Code.Unauthenticated, /unknown bearer token/);
  });

  it("is PERMISSION_DENIED in another caller's namespace", async () => {
    await expectStatus(call(as("chat-token"), other), Code.PermissionDenied, /chat-api/);
  });

  it(`needs the ${permission} permission`, async () => {
    const token = { read: "reader-token", write: "chat-token", admin: "ops-token" }[permission];
    await expectAllowed(call(as(token), chat));
    const lacking = { read: undefined, write: "reader-token", admin: "chat-token" }[permission];
    if (lacking)
      await expectStatus(call(as(lacking), chat), Code.PermissionDenied, new RegExp(`lacks the ${permission} scope`));
  });
});

describe("authentication", () => {
  it("needs an all-namespaces admin for eviction across every namespace", async () => {
    await expectStatus(as("chat-token").evictStale({ dryRun: true }), Code.PermissionDenied);
    await as("ops-token").evictStale({ dryRun: true });
  });

  it("limits each caller's rate with RESOURCE_EXHAUSTED and a retry hint", async () => {
    const limited = await startTestServer({
      ENGRAM_AUTH_TOKENS_FILE: tokensFile,
      ENGRAM_RATE_LIMIT_PER_SECOND: "0.001",
      ENGRAM_RATE_LIMIT_BURST: "3",
    });
    try {
      const transport = (token: string) =>
        createClient(
          MemoryService,
          createGrpcTransport({
            baseUrl: limited.baseUrl,
            interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))],
          }),
        );
      const chatApi = transport("chat-token");
      for (let i = 0; i < 3; i++) await chatApi.ping({});
      const error = await expectStatus(
        chatApi.ping({}),
        Code.ResourceExhausted,
        /chat-api" is over its rate limit; retry in \d+ ms/,
      );
      expect(Number(error.metadata.get("retry-after-ms"))).toBeGreaterThan(0);
      // Another caller has its own bucket.
      await transport("ops-token").ping({});
      // Refused calls are counted like served ones.
      await expectStatus(transport("wrong-token").ping({}), Code.Unauthenticated);
      const metrics = await (await fetch(`http://127.0.0.1:${limited.server.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(
        /engram_rpc_requests_total\{method="engram.v1.MemoryService\/Ping",code="ResourceExhausted"\} 1\n/,
      );
      expect(metrics).toMatch(
        /engram_rpc_requests_total\{method="engram.v1.MemoryService\/Ping",code="Unauthenticated"\} 1\n/,
      );
      expect(metrics).toMatch(/engram_rpc_requests_total\{method="engram.v1.MemoryService\/Ping",code="OK"\} 4\n/);
    } finally {
      await limited.destroy();
    }
  });

  it("refuses new memories past the per-user limit with RESOURCE_EXHAUSTED", async () => {
    const small = await startTestServer({ ENGRAM_MAX_MEMORIES_PER_USER: "2" });
    try {
      const c = createClient(MemoryService, createGrpcTransport({ baseUrl: small.baseUrl }));
      const scope = { namespace: "limits", userId: "u" };
      await c.remember({ scope, type: MemoryType.SEMANTIC, content: "first fact about gardens" });
      await c.remember({ scope, type: MemoryType.SEMANTIC, content: "second fact about rivers" });
      await expectStatus(
        c.remember({ scope, type: MemoryType.SEMANTIC, content: "third fact about mountains" }),
        Code.ResourceExhausted,
        /holds 2 memories, the limit/,
      );
      // A near-duplicate refreshes an existing memory, which the limit allows.
      await c.remember({ scope, type: MemoryType.SEMANTIC, content: "first fact about gardens" });
    } finally {
      await small.destroy();
    }
  });

  it("leaves health checks open for probes", async () => {
    // No credentials: health answers on every protocol, while MemoryService refuses the same caller.
    for (const kind of ["grpc", "connect", "grpc-web"] as const) {
      const health = createClient(Health, connectTransport(kind, server.baseUrl));
      expect((await health.check({ service: "" })).status, kind).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect((await health.check({ service: "liveness" })).status, kind).toBe(
        HealthCheckResponse_ServingStatus.SERVING,
      );
    }
    await expectStatus(as(undefined).ping({}), Code.Unauthenticated);
  });

  it("keeps the unauthenticated metrics listener on loopback when the RPC port is public and authenticated", async () => {
    const bound = async (env: Record<string, string>) => {
      const lines: string[] = [];
      const running = await startTestServer(
        { ENGRAM_HOST: "0.0.0.0", ENGRAM_AUTH_TOKENS_FILE: tokensFile, ...env },
        { log: (line) => lines.push(line) },
      );
      try {
        const listening = lines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((e) => e.msg === "engram listening");
        const metrics = await fetch(`http://127.0.0.1:${running.server.metricsPort}/metrics`);
        expect(metrics.status).toBe(200);
        return listening?.metricsHost;
      } finally {
        await running.destroy();
      }
    };
    expect(await bound({})).toBe("127.0.0.1");
    expect(await bound({ ENGRAM_METRICS_HOST: "0.0.0.0" })).toBe("0.0.0.0");
  });

  it("refuses to serve a non-loopback address without authentication, unless insecure mode is explicit", () => {
    const check = (env: Record<string, string>) => () => checkListenerSecurity(loadConfig(env));
    expect(check({ ENGRAM_HOST: "0.0.0.0" })).toThrow(ConfigError);
    expect(check({ ENGRAM_HOST: "0.0.0.0" })).toThrow(
      /^ENGRAM_HOST: refusing to serve 0\.0\.0\.0 without authentication/,
    );
    expect(check({ ENGRAM_HOST: "0.0.0.0", ENGRAM_INSECURE: "true" })).not.toThrow();
    expect(check({ ENGRAM_HOST: "0.0.0.0", ENGRAM_AUTH_TOKENS_FILE: tokensFile })).not.toThrow();
    expect(check({ ENGRAM_HOST: "127.0.0.1" })).not.toThrow();
  });

  it("rejects a malformed tokens file, naming the variable and the entry", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({
        callers: [{ name: "x", tokenSha256: "plaintext-token", namespaces: ["a"], permissions: ["read"] }],
      }),
    );
    expect(() => loadConfig({ ENGRAM_AUTH_TOKENS_FILE: bad })).toThrow(
      /^ENGRAM_AUTH_TOKENS_FILE: .*callers\[0\]\.tokenSha256/,
    );
  });
});
