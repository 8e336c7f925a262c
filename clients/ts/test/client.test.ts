import { randomUUID } from "node:crypto";
import { createServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import {
  Code,
  createEngramClient,
  EngramError,
  MemoryType,
  RememberOutcome,
  Role,
  type EngramClient,
} from "../src/index.js";
import { startTestServer, type TestServer } from "../../../test/support/server-harness.js";
import { lostReplySessionPrefix, storesWithLostReplies } from "../../../test/support/lost-replies.js";

/** The TypeScript client against a real Engram server. */
let server: TestServer;
let client: EngramClient;
beforeAll(async () => {
  server = await startTestServer();
  client = createEngramClient({ baseUrl: server.baseUrl, timeoutMs: 5000 });
});
afterAll(() => server?.destroy());

const newScope = () => ({ namespace: "ts-client", userId: randomUUID() });

describe("createEngramClient", () => {
  it("retries an append whose reply was lost, and the server applies it once", async () => {
    const flaky = await startTestServer({}, { openStores: storesWithLostReplies });
    try {
      const retrying = createEngramClient({ baseUrl: flaky.baseUrl, timeoutMs: 5000, backoffMs: 10 });
      const scope = newScope();
      const sessionId = `${lostReplySessionPrefix}-ts`;
      const request = { scope, sessionId, messages: [{ role: Role.USER, content: "Book the 8am train" }] };
      const answered = await retrying.appendMessages(request);
      expect(answered.replayed).toBe(true);
      expect((request as { idempotencyKey?: string }).idempotencyKey).toBeUndefined();
      const stored = await retrying.getMessages({ scope, sessionId });
      expect(stored.messages.map((m) => m.content)).toEqual(["Book the 8am train"]);
      expect(stored.messages.map((m) => m.id)).toEqual(answered.messageIds);
      // The same request object again is a new append, with a new key.
      expect((await retrying.appendMessages(request)).replayed).toBe(false);
      expect((await retrying.getMessages({ scope, sessionId })).messages).toHaveLength(2);
    } finally {
      await flaky.destroy();
    }
  });

  it("calls every RPC, with AssembleContext as an async iterator", async () => {
    const scope = newScope();
    expect((await client.ping({})).serverTime).toBeDefined();
    await client.appendMessages({
      scope,
      sessionId: "s",
      messages: [{ role: Role.USER, content: "I prefer tea over coffee" }],
    });
    expect((await client.getMessages({ scope, sessionId: "s" })).messages).toHaveLength(1);
    await client.setWorking({ scope, taskId: "t", entries: { plan: "brew" } });
    expect((await client.getWorking({ scope, taskId: "t" })).state?.entries).toEqual({ plan: "brew" });
    expect((await client.listWorking({ scope })).states).toHaveLength(1);
    const kinds: string[] = [];
    for await (const event of client.assembleContext({
      scope,
      sessionId: "s",
      taskId: "t",
      query: "tea",
      tokenBudget: 300,
    })) {
      kinds.push(event.event.case ?? "none");
    }
    expect(kinds.at(-1)).toBe("summary");
    expect(kinds.filter((k) => k === "section").length).toBeGreaterThanOrEqual(2);
    expect((await client.completeTask({ scope, taskId: "t" })).clearedEntries).toBe(1);
    expect((await client.endSession({ scope, sessionId: "s" })).decisions[0]?.stored).toBe(true);
    const { memory } = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "Lives in Porto",
    });
    expect((await client.recall({ scope, query: "lives in Porto" })).memories[0]?.memory?.id).toBe(memory!.id);
    expect((await client.reportUsage({ scope, returnedIds: [memory!.id], usedIds: [memory!.id] })).precision).toBe(1);
    expect((await client.getMemory({ scope, memoryId: memory!.id })).memory?.content).toBe("Lives in Porto");
    expect((await client.evictStale({ namespace: scope.namespace, userId: scope.userId, dryRun: true })).dryRun).toBe(
      true,
    );
    await client.forgetMemory({ scope, memoryId: memory!.id });
    expect((await client.forgetUser({ scope })).sessionsDeleted).toBe(0);
  });

  it("imports, lists, corrects, shows history and exports memories", async () => {
    const scope = newScope();
    const at = (year: number) => timestampFromDate(new Date(`${year}-06-01T00:00:00Z`));
    const { results } = await client.importMemories({
      scope,
      memories: [
        { type: MemoryType.SEMANTIC, content: "Lives in Lisbon", subject: "home", occurredAt: at(2024) },
        { type: MemoryType.SEMANTIC, content: "Lives in Porto", subject: "home", occurredAt: at(2019) },
      ],
    });
    // Settled by occurrence: Porto (2019) first, then Lisbon (2024) updates it in place.
    expect(results.map((r) => r.outcome)).toEqual([RememberOutcome.UPDATED, RememberOutcome.CREATED]);
    const lisbon = results[0]!.memoryId;
    expect(results[1]!.memoryId).toBe(lisbon);
    const { history } = await client.memoryHistory({ scope, memoryId: lisbon });
    expect(history.map((h) => h.content)).toEqual(["Lives in Porto"]);
    const { memory } = await client.updateMemory({ scope, memoryId: lisbon, content: "Lives in Lisbon, in Alfama" });
    expect(memory?.content).toBe("Lives in Lisbon, in Alfama");
    // A preference told later but older is stored as history.
    await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "I prefer Go for scripts",
      occurredAt: at(2024),
    });
    const late = await client.importMemories({
      scope,
      memories: [{ type: MemoryType.PREFERENCE, content: "I prefer Python for scripting", occurredAt: at(2020) }],
    });
    expect(late.results[0]?.outcome).toBe(RememberOutcome.STORED_AS_HISTORY);
    const first = await client.listMemories({ scope, pageSize: 2 });
    const second = await client.listMemories({ scope, pageSize: 2, pageToken: first.nextPageToken });
    expect(second.nextPageToken).toBe("");
    expect(new Set([...first.memories, ...second.memories].map((m) => m.id)).size).toBe(3);
    const current = await client.listMemories({ scope, filter: { superseded: false } });
    expect(current.memories.map((m) => m.content).sort()).toEqual([
      "I prefer Go for scripts",
      "Lives in Lisbon, in Alfama",
    ]);
    const exported: string[][] = [];
    for await (const item of client.exportUser({ scope })) {
      if (item.item.case === "memory") {
        exported.push([item.item.value.memory!.content, ...item.item.value.history.map((h) => h.content)]);
      }
    }
    expect(exported.sort()).toEqual([
      ["I prefer Go for scripts"],
      ["I prefer Python for scripting"],
      ["Lives in Lisbon, in Alfama", "Lives in Porto", "Lives in Lisbon"],
    ]);
  });

  it("refuses an oversized request itself, and the calls beside and after it still succeed", async () => {
    const scope = newScope();
    await client.appendMessages({ scope, sessionId: "s", messages: [{ role: Role.USER, content: "still here" }] });
    const beside = client.getMessages({ scope, sessionId: "s" });
    const error = await client
      .remember({ scope, type: MemoryType.SEMANTIC, content: "x".repeat(10 * 1024 * 1024) })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(EngramError);
    expect((error as EngramError).code).toBe(Code.ResourceExhausted);
    expect((error as EngramError).rawMessage).toMatch(/at most 4194304 bytes \(4 MiB\) per request/);
    expect((await beside).messages.map((m) => m.content)).toEqual(["still here"]);
    expect((await client.ping({})).serverTime).toBeDefined();
  });

  it("throws an EngramError it constructed (not a ConnectError matched by shape), carrying the gRPC code", async () => {
    const error = await client.getMemory({ scope: newScope(), memoryId: "missing" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngramError);
    expect(Object.getPrototypeOf(error)).toBe(EngramError.prototype);
    expect((error as EngramError).name).toBe("EngramError");
    expect((error as EngramError).details).toEqual([]);
    // Another Connect client's error is not an EngramError, though ConnectError's own check accepts both shapes.
    const foreign = new ConnectError("from another client", Code.NotFound);
    expect(foreign).not.toBeInstanceOf(EngramError);
    expect(EngramError.fromError(foreign)).toBeInstanceOf(EngramError);
    expect(EngramError.fromError(foreign).code).toBe(Code.NotFound);
    expect(EngramError.fromError(foreign).rawMessage).toBe("from another client");
    // Mid-stream and transport failures are EngramErrors too.
    const stream = client.assembleContext({ scope: newScope(), tokenBudget: 0 });
    const streamed = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(EngramError);
    expect((streamed as EngramError).code).toBe(Code.InvalidArgument);
    const refused = await createEngramClient({ baseUrl: "http://127.0.0.1:1", retries: 0 })
      .ping({})
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EngramError);
    expect((refused as EngramError).code).toBe(Code.Unavailable);
    expect((error as EngramError).code).toBe(Code.NotFound);
    const invalid = await client.recall({ scope: newScope(), query: "q", topK: 1000 }).catch((e: unknown) => e);
    expect((invalid as EngramError).code).toBe(Code.InvalidArgument);
    expect((invalid as EngramError).rawMessage).toBe("top_k: must be an integer from 1 to 100");
  });

  it("reports an expired deadline as DEADLINE_EXCEEDED", async () => {
    const error = await client.ping({}, { timeoutMs: 0.0001 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngramError);
    expect((error as EngramError).code).toBe(Code.DeadlineExceeded);
  });

  it("retries UNAVAILABLE (only), then gives up with it, sending the bearer token each time", async () => {
    const stub = await startStatusStub(Code.Unavailable);
    try {
      const flaky = createEngramClient({ baseUrl: stub.baseUrl, retries: 2, backoffMs: 1, token: "secret-token" });
      const error = await flaky.ping({}).catch((e: unknown) => e);
      expect((error as EngramError).code).toBe(Code.Unavailable);
      expect(stub.authorizations).toEqual(["Bearer secret-token", "Bearer secret-token", "Bearer secret-token"]);
    } finally {
      await stub.close();
    }
  });

  it("does not retry calls that may have applied before their reply was lost", async () => {
    const stub = await startStatusStub(Code.Unavailable);
    try {
      const flaky = createEngramClient({ baseUrl: stub.baseUrl, retries: 2, backoffMs: 1 });
      const scope = newScope();
      const calls: [string, () => Promise<unknown>][] = [
        ["EndSession", () => flaky.endSession({ scope, sessionId: "s" })],
        ["ForgetMemory", () => flaky.forgetMemory({ scope, memoryId: "m" })],
        ["CompleteTask", () => flaky.completeTask({ scope, taskId: "t" })],
        ["ForgetUser", () => flaky.forgetUser({ scope })],
        ["Remember", () => flaky.remember({ scope, type: MemoryType.SEMANTIC, content: "x" })],
        ["ReportUsage", () => flaky.reportUsage({ scope, returnedIds: ["m"], usedIds: [] })],
        ["EvictStale", () => flaky.evictStale({ dryRun: true })],
        ["UpdateMemory", () => flaky.updateMemory({ scope, memoryId: "m", importance: 0.5 })],
        [
          "ImportMemories",
          () => flaky.importMemories({ scope, memories: [{ type: MemoryType.SEMANTIC, content: "x" }] }),
        ],
      ];
      for (const [name, call] of calls) {
        const before = stub.authorizations.length;
        const error = await call().catch((e: unknown) => e);
        expect((error as EngramError).code, name).toBe(Code.Unavailable);
        expect(stub.authorizations.length - before, name).toBe(1);
      }
      // Reads and keyed appends are retried.
      const before = stub.authorizations.length;
      await flaky.getMessages({ scope, sessionId: "s" }).catch(() => undefined);
      await flaky
        .appendMessages({ scope, sessionId: "s", messages: [{ role: Role.USER, content: "x" }] })
        .catch(() => 0);
      await flaky.listMemories({ scope }).catch(() => undefined);
      await flaky.memoryHistory({ scope, memoryId: "m" }).catch(() => undefined);
      expect(stub.authorizations.length - before).toBe(12);
    } finally {
      await stub.close();
    }
  });

  it("does not retry other codes", async () => {
    const stub = await startStatusStub(Code.InvalidArgument);
    try {
      const error = await createEngramClient({ baseUrl: stub.baseUrl, retries: 2, backoffMs: 1 })
        .ping({})
        .catch((e: unknown) => e);
      expect((error as EngramError).code).toBe(Code.InvalidArgument);
      expect(stub.authorizations).toHaveLength(1);
    } finally {
      await stub.close();
    }
  });
});

/** An HTTP/2 server answering every gRPC call with one status, recording the authorization header. */
async function startStatusStub(
  code: Code,
): Promise<{ baseUrl: string; authorizations: string[]; close(): Promise<void> }> {
  const authorizations: string[] = [];
  const server = createServer((req, res) => {
    authorizations.push(String(req.headers.authorization ?? ""));
    res.writeHead(200, { "content-type": "application/grpc", "grpc-status": String(code), "grpc-message": "stub" });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    authorizations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
