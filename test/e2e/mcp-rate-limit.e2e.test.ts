import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../../src/rpc/authentication.js";
import { metric } from "../support/network-probes.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * The rate limit counts JSON-RPC calls, not HTTP POSTs (finding 8 of issue
 * 21): before, one POST carrying a batch of 100 `tools/call` ran all 100
 * under a limit of 5 a second.
 */
let server: TestServer;
beforeAll(async () => {
  const tokens = join(mkdtempSync(join(tmpdir(), "engram-mcp-rate-")), "tokens.json");
  writeFileSync(
    tokens,
    JSON.stringify({
      callers: [{ name: "agent", tokenSha256: hashToken("agent-token"), namespaces: ["chat"], permissions: ["read"] }],
    }),
  );
  server = await startTestServer({
    ENGRAM_AUTH_TOKENS_FILE: tokens,
    ENGRAM_MCP_ENABLED: "true",
    ENGRAM_MCP_PORT: "0",
    // Five calls, then one per 100 s: nothing refills during the test.
    ENGRAM_RATE_LIMIT_PER_SECOND: "0.01",
    ENGRAM_RATE_LIMIT_BURST: "5",
  });
});
afterAll(() => server?.destroy());

const recall = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "recall", arguments: { query: "x" } },
});

const post = (body: unknown) =>
  fetch(`http://127.0.0.1:${server.server.mcpPort}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: "Bearer agent-token",
      "engram-namespace": "chat",
      "engram-user-id": "batcher",
    },
    body: JSON.stringify(body),
  });

// MCP tools run on the shared pipeline, counted under the RPC method they call.
const recalls = () =>
  metric(server, "engram_rpc_requests_total", { method: "engram.v1.MemoryService/Recall", code: "OK" });

describe("MCP rate limit", () => {
  it("charges each JSON-RPC call in a batch, and refuses a batch over the limit before running any of it", async () => {
    const within = await post([recall(1), recall(2), recall(3)]);
    expect(within.status, await within.clone().text()).toBe(200);
    expect(await recalls()).toBe(3);
    // Two calls left in the burst; a POST of 20 calls is refused whole.
    const over = await post(Array.from({ length: 20 }, (_, i) => recall(5 + i)));
    expect(over.status).toBe(429);
    expect(await over.text()).toMatch(/over its rate limit/);
    expect(await recalls()).toBe(3);
  });
});
