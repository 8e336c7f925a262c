import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { hashToken } from "../../src/rpc/authentication.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/** Logs carry ids, counts and codes; never message content, memory text or credentials. */
const secretContent = "my diagnosis is confidential-7731";
const token = "tok-very-secret-4242";
const lines: string[] = [];
let server: TestServer;
beforeAll(async () => {
  const tokens = join(mkdtempSync(join(tmpdir(), "engram-logs-")), "tokens.json");
  writeFileSync(
    tokens,
    JSON.stringify({
      callers: [
        { name: "app", tokenSha256: hashToken(token), namespaces: ["*"], permissions: ["read", "write", "admin"] },
      ],
    }),
  );
  server = await startTestServer(
    { ENGRAM_LOG_LEVEL: "debug", ENGRAM_AUTH_TOKENS_FILE: tokens },
    { log: (line) => lines.push(line) },
  );
});
afterAll(() => server?.destroy());

describe("logs", () => {
  it("never contain message content, memory text or credentials, even at debug", async () => {
    const client = createClient(
      MemoryService,
      createGrpcTransport({
        baseUrl: server.baseUrl,
        interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))],
      }),
    );
    const scope = { namespace: "logs", userId: "u1" };
    await client.appendMessages({ scope, sessionId: "s", messages: [{ role: Role.USER, content: secretContent }] });
    await client.remember({ scope, type: MemoryType.SEMANTIC, content: secretContent });
    await client.recall({ scope, query: secretContent });
    await client
      .appendMessages({ scope, sessionId: "s", messages: [{ role: Role.USER, content: `${secretContent}\u0000` }] })
      .catch(() => {});
    await client.remember({ scope, type: 42 as MemoryType, content: secretContent }).catch(() => {});
    await client.endSession({ scope, sessionId: "s" });
    const unauthenticated = createClient(MemoryService, createGrpcTransport({ baseUrl: server.baseUrl }));
    await unauthenticated.recall({ scope, query: secretContent }).catch(() => {});
    expect(lines.length).toBeGreaterThan(3);
    const all = lines.join("\n");
    expect(all).not.toContain("confidential-7731");
    expect(all).not.toContain(token);
    expect(all).not.toContain(hashToken(token));
  });
});
