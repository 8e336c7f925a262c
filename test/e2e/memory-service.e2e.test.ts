import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SectionKind } from "../../src/gen/engram/v1/assembly_pb.js";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { clientKinds, openClient, type ClientHandle } from "../support/clients.js";
import { collect, expectStatus } from "../support/expect-status.js";
import { sleep } from "../support/memory-fixtures.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";
import type { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";

/**
 * Every RPC end to end, on the embedded default and with Redis serving
 * short-term and working memory, through each way a caller reaches the
 * server: Connect, gRPC and gRPC-Web via connect-node, and a stock
 * @grpc/grpc-js client.
 */
const backends = serverBackends();

describe.each(backends)("on %s", (_, backendEnv) => {
  const engram = startEngramOnBackend(backendEnv, {
    ENGRAM_SESSION_TOKEN_LIMIT: "300",
    ENGRAM_COMPACTION_KEEP_RECENT: "4",
    ENGRAM_SUMMARY_MAX_TOKENS: "120",
  });

  describe.each(clientKinds)("MemoryService over %s", (kind) => {
    let handle: ClientHandle<typeof MemoryService>;
    beforeAll(() => {
      handle = openClient(kind, engram.server.baseUrl);
    });
    afterAll(() => handle?.close());
    const client = () => handle.client;
    const newScope = () => ({ namespace: "e2e", userId: `${kind}-${randomUUID()}` });
    const user = (content: string) => ({ role: Role.USER, content });

    it("answers Ping with the server's time", async () => {
      const response = await client().ping({});
      expect(Math.abs(Number(response.serverTime?.seconds) * 1000 - Date.now())).toBeLessThan(60_000);
    });

    describe("short-term", () => {
      it("applies a retried append once when it carries an idempotency key", async () => {
        const scope = newScope();
        const request = { scope, sessionId: "retry", idempotencyKey: "call-1", messages: [user("Only once, please")] };
        const first = await client().appendMessages(request);
        const again = await client().appendMessages(request);
        expect(first.replayed).toBe(false);
        expect(again.replayed).toBe(true);
        expect(again.messageIds).toEqual(first.messageIds);
        const read = await client().getMessages({ scope, sessionId: "retry" });
        expect(read.messages.map((m) => m.content)).toEqual(["Only once, please"]);
        await expectStatus(
          client().appendMessages({ ...request, idempotencyKey: "has spaces" }),
          Code.InvalidArgument,
          /idempotency_key/,
        );
      });

      it("appends messages and reads them back in order", async () => {
        const scope = newScope();
        const appended = await client().appendMessages({
          scope,
          sessionId: "s1",
          messages: [
            user("Book me a table for two"),
            { role: Role.ASSISTANT, content: "Which evening?", metadata: { model: "m1" } },
          ],
        });
        expect(appended.messageIds).toHaveLength(2);
        expect(appended.messageCount).toBe(2);
        expect(appended.tokenCount).toBeGreaterThan(5);
        expect(appended.compacted).toBe(false);

        const read = await client().getMessages({ scope, sessionId: "s1" });
        expect(read.messages.map((m) => [m.role, m.content])).toEqual([
          [Role.USER, "Book me a table for two"],
          [Role.ASSISTANT, "Which evening?"],
        ]);
        expect(read.messages.map((m) => m.id)).toEqual(appended.messageIds);
        expect(read.messages.map((m) => m.sequence)).toEqual([1n, 2n]);
        expect(read.messages[1]?.metadata).toEqual({ model: "m1" });
        expect(read.tokenCount).toBe(appended.tokenCount);
        expect(read.summary).toBeUndefined();

        const latest = await client().getMessages({ scope, sessionId: "s1", limit: 1 });
        expect(latest.messages.map((m) => m.content)).toEqual(["Which evening?"]);
      });

      it("compacts past the token limit, losing nothing that was not summarised", async () => {
        const scope = newScope();
        const sent: string[] = [];
        let compactions = 0;
        for (let i = 0; i < 30; i++) {
          const content = `Turn ${i}: the user mentions destination number ${i} and a budget of ${i * 100} euros for the trip.`;
          sent.push(content);
          const result = await client().appendMessages({ scope, sessionId: "long", messages: [user(content)] });
          if (result.compacted) compactions++;
        }
        expect(compactions).toBeGreaterThan(0);
        // Compaction runs in the background, after learning from what it folds: wait for the session to fit.
        const read = await vi.waitFor(
          async () => {
            const session = await client().getMessages({ scope, sessionId: "long" });
            expect(session.tokenCount).toBeLessThanOrEqual(300);
            return session;
          },
          { timeout: 30_000, interval: 100 },
        );
        const summary = read.summary!;
        expect(summary.content).toMatch(/^Summary of the earlier conversation:/);
        expect(summary.tokenCount).toBeLessThanOrEqual(120);
        // The verbatim tail continues exactly where the summary stops.
        expect(read.messages[0]?.sequence).toBe(summary.summarizedThroughSequence + 1n);
        expect(Number(summary.summarizedMessageCount) + read.messages.length).toBe(sent.length);
        expect(read.messages.map((m) => m.content)).toEqual(sent.slice(sent.length - read.messages.length));
        expect(read.tokenCount).toBe(summary.tokenCount + read.messages.reduce((sum, m) => sum + m.tokenCount, 0));
      });

      it("ends a session and forgets its messages", async () => {
        const scope = newScope();
        await client().appendMessages({ scope, sessionId: "done", messages: [user("a"), user("b")] });
        expect((await client().endSession({ scope, sessionId: "done" })).messageCount).toBe(2);
        await expectStatus(client().getMessages({ scope, sessionId: "done" }), Code.NotFound, /session "done"/);
        await expectStatus(client().endSession({ scope, sessionId: "done" }), Code.NotFound);
      });
    });

    describe("working", () => {
      it("sets, merges, lists and completes a task", async () => {
        const scope = newScope();
        const first = await client().setWorking({
          scope,
          taskId: "trip",
          entries: { plan: "1. flights 2. hotel" },
          ttlSeconds: 600,
        });
        expect(first.state?.entries).toEqual({ plan: "1. flights 2. hotel" });
        const expiresIn = Number(first.state!.expiresAt!.seconds) - Date.now() / 1000;
        expect(expiresIn).toBeGreaterThan(590);
        expect(expiresIn).toBeLessThanOrEqual(601);

        await client().setWorking({ scope, taskId: "trip", entries: { draft: "Day 1: Lisbon" } });
        const read = await client().getWorking({ scope, taskId: "trip" });
        expect(read.state?.entries).toEqual({ plan: "1. flights 2. hotel", draft: "Day 1: Lisbon" });

        await client().setWorking({ scope, taskId: "other", entries: { k: "v" } });
        const listed = await client().listWorking({ scope });
        expect(listed.states.map((s) => s.taskId)).toEqual(["other", "trip"]);

        expect((await client().completeTask({ scope, taskId: "trip" })).clearedEntries).toBe(2);
        await expectStatus(client().getWorking({ scope, taskId: "trip" }), Code.NotFound, /task "trip"/);
        await expectStatus(client().completeTask({ scope, taskId: "trip" }), Code.NotFound);
      });

      it("expires a task's state after its TTL", async () => {
        const scope = newScope();
        await client().setWorking({ scope, taskId: "brief", entries: { k: "v" }, ttlSeconds: 1 });
        await sleep(1300);
        await expectStatus(client().getWorking({ scope, taskId: "brief" }), Code.NotFound);
      });

      it("refuses more entries than a task may hold, applying none", async () => {
        const scope = newScope();
        const batch = (from: number) => Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${from + i}`, "v"]));
        for (let i = 0; i < 4; i++) await client().setWorking({ scope, taskId: "big", entries: batch(i * 64) });
        await expectStatus(
          client().setWorking({ scope, taskId: "big", entries: { extra: "v" } }),
          Code.ResourceExhausted,
          /256/,
        );
        expect(Object.keys((await client().getWorking({ scope, taskId: "big" })).state!.entries)).toHaveLength(256);
      });
    });

    describe("long-term", () => {
      it("remembers, recalls by relevance, reads and forgets a memory", async () => {
        const scope = newScope();
        const go = await client().remember({
          scope,
          type: MemoryType.PREFERENCE,
          content: "Prefers Go for command-line tools and scripting",
          importance: 0.8,
          metadata: { source: "chat" },
          subject: "language.scripting",
        });
        expect(go.memory?.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(go.memory?.importance).toBeCloseTo(0.8);
        await client().remember({
          scope,
          type: MemoryType.SEMANTIC,
          content: "Lives in Lisbon with two cats",
        });
        await client().remember({
          scope,
          type: MemoryType.EPISODIC,
          content: "Booked a dentist appointment for March",
        });

        const recalled = await client().recall({ scope, query: "which language for a scripting task", topK: 2 });
        expect(recalled.memories).toHaveLength(2);
        expect(recalled.memories[0]?.memory?.id).toBe(go.memory?.id);
        expect(recalled.memories[0]!.score).toBeGreaterThan(recalled.memories[1]!.score);
        expect(recalled.memories[0]!.relevance).toBeGreaterThan(0);

        const semanticOnly = await client().recall({ scope, query: "cats Lisbon", types: [MemoryType.SEMANTIC] });
        expect(semanticOnly.memories.map((m) => m.memory?.type)).toEqual([MemoryType.SEMANTIC]);
        const strict = await client().recall({ scope, query: "cats Lisbon", minScore: 0.99 });
        expect(strict.memories).toEqual([]);

        const read = await client().getMemory({ scope, memoryId: go.memory!.id });
        expect(read.memory?.content).toBe("Prefers Go for command-line tools and scripting");
        expect(read.memory?.metadata).toEqual({ source: "chat" });
        expect(read.memory?.subject).toBe("language.scripting");

        await client().forgetMemory({ scope, memoryId: go.memory!.id });
        await expectStatus(client().getMemory({ scope, memoryId: go.memory!.id }), Code.NotFound, /memory/);
        await expectStatus(client().forgetMemory({ scope, memoryId: go.memory!.id }), Code.NotFound);
      });

      it("tracks access off the request path", async () => {
        const scope = newScope();
        const { memory } = await client().remember({
          scope,
          type: MemoryType.SEMANTIC,
          content: "Allergic to peanuts",
        });
        await client().recall({ scope, query: "allergies peanuts" });
        await client().recall({ scope, query: "peanut allergy" });
        await expect
          .poll(async () => (await client().getMemory({ scope, memoryId: memory!.id })).memory?.accessCount, {
            timeout: 5000,
          })
          .toBe(2n);
      });

      it("looks without touching: Recall and AssembleContext with skip_access_tracking leave access counts alone", async () => {
        const scope = newScope();
        const looked = await client().remember({ scope, type: MemoryType.SEMANTIC, content: "Allergic to hazelnuts" });
        const sentinel = await client().remember({ scope, type: MemoryType.SEMANTIC, content: "Owns a red kayak" });
        const peek = await client().recall({ scope, query: "hazelnut allergy", topK: 1, skipAccessTracking: true });
        expect(peek.memories.map((m) => m.memory?.id)).toEqual([looked.memory!.id]);
        const assembled = await collect(
          client().assembleContext({ scope, query: "hazelnut allergy", tokenBudget: 500, skipAccessTracking: true }),
        );
        expect(
          JSON.stringify(
            assembled.map((e) => e.event.value),
            (_, v) => (typeof v === "bigint" ? String(v) : v),
          ),
        ).toContain("Allergic to hazelnuts");
        // A recall that records, after the looks: once its access is written, any
        // access recorded before it would be too (the tracker flushes in order).
        const used = await client().recall({ scope, query: "red kayak", topK: 1 });
        expect(used.memories.map((m) => m.memory?.id)).toEqual([sentinel.memory!.id]);
        await expect
          .poll(async () => (await client().getMemory({ scope, memoryId: sentinel.memory!.id })).memory?.accessCount, {
            timeout: 5000,
          })
          .toBe(1n);
        const untouched = await client().getMemory({ scope, memoryId: looked.memory!.id });
        expect(untouched.memory?.accessCount).toBe(0n);
        expect(untouched.memory?.lastAccessedAt).toBeUndefined();
      });

      it("never returns another user's memories", async () => {
        const alice = newScope();
        const bob = newScope();
        await client().remember({
          scope: bob,
          type: MemoryType.SEMANTIC,
          content: "Bob's bank is in Zurich",
        });
        const recalled = await client().recall({ scope: alice, query: "Bob's bank is in Zurich" });
        expect(recalled.memories).toEqual([]);
      });
    });

    it("forgets a user in every tier", async () => {
      const scope = newScope();
      const other = newScope();
      await client().appendMessages({ scope, sessionId: "s", messages: [user("hi")] });
      await client().setWorking({ scope, taskId: "t", entries: { k: "v" } });
      await client().remember({ scope, type: MemoryType.SEMANTIC, content: "fact one" });
      await client().remember({ scope, type: MemoryType.SEMANTIC, content: "fact two" });
      await client().remember({ scope: other, type: MemoryType.SEMANTIC, content: "fact one" });

      const report = await client().forgetUser({ scope });
      expect([report.sessionsDeleted, report.tasksDeleted, report.memoriesDeleted]).toEqual([1, 1, 2]);
      await expectStatus(client().getMessages({ scope, sessionId: "s" }), Code.NotFound);
      await expectStatus(client().getWorking({ scope, taskId: "t" }), Code.NotFound);
      expect((await client().recall({ scope, query: "fact" })).memories).toEqual([]);
      expect((await client().recall({ scope: other, query: "fact" })).memories).toHaveLength(1);
    });

    describe("AssembleContext", () => {
      it("streams memories, task state, documents and history in order, then a summary", async () => {
        const scope = newScope();
        await client().remember({
          scope,
          type: MemoryType.PREFERENCE,
          content: "Prefers aisle seats on flights",
        });
        await client().setWorking({ scope, taskId: "trip", entries: { plan: "find a flight to Lisbon" } });
        await client().appendMessages({
          scope,
          sessionId: "s",
          messages: [user("Find me a flight to Lisbon"), { role: Role.ASSISTANT, content: "For which dates?" }],
        });

        const events = await collect(
          client().assembleContext({
            scope,
            sessionId: "s",
            taskId: "trip",
            query: "flight seat preference",
            tokenBudget: 2000,
            documents: [{ id: "doc-1", content: "TAP flies Lisbon daily at 8am.", source: "timetable", score: 0.9 }],
          }),
        );
        const sections = events
          .filter((e) => e.event.case === "section")
          .map(
            (e) =>
              e.event.value as {
                kind: SectionKind;
                tokenCount: number;
                items: { id: string; content: string; tokenCount: number }[];
              },
          );
        expect(sections.map((s) => s.kind)).toEqual([
          SectionKind.LONG_TERM_MEMORIES,
          SectionKind.TASK_STATE,
          SectionKind.DOCUMENTS,
          SectionKind.CONVERSATION_HISTORY,
        ]);
        expect(sections[0]?.items[0]?.content).toBe("[preference] Prefers aisle seats on flights");
        expect(sections[1]?.items[0]?.content).toBe("plan: find a flight to Lisbon");
        expect(sections[2]?.items[0]?.content).toBe("[timetable] TAP flies Lisbon daily at 8am.");
        expect(sections[3]?.items.map((i) => i.content)).toEqual([
          "user: Find me a flight to Lisbon",
          "assistant: For which dates?",
        ]);
        for (const section of sections)
          expect(section.tokenCount).toBe(section.items.reduce((s, i) => s + i.tokenCount, 0));

        const last = events.at(-1)!.event;
        expect(last.case).toBe("summary");
        const summary = last.value as { totalTokens: number; tokenBudget: number; omitted: unknown[] };
        expect(summary.totalTokens).toBe(sections.reduce((s, x) => s + x.tokenCount, 0));
        expect(summary.tokenBudget).toBe(2000);
        expect(summary.omitted).toEqual([]);
      });

      it("stays within a small budget and says what it left out", async () => {
        const scope = newScope();
        const documents = Array.from({ length: 10 }, (_, i) => ({
          id: `doc-${i}`,
          content: `Document ${i} ${"about travel policies and reimbursement rules ".repeat(5)}`,
          source: "wiki",
          score: 10 - i,
        }));
        const events = await collect(client().assembleContext({ scope, query: "travel", tokenBudget: 120, documents }));
        const last = events.at(-1)!.event;
        expect(last.case).toBe("summary");
        const summary = last.value as { totalTokens: number; omitted: { id: string }[] };
        expect(summary.totalTokens).toBeGreaterThan(0);
        expect(summary.totalTokens).toBeLessThanOrEqual(120);
        expect(summary.omitted.map((o) => o.id)).toContain("doc-9");
        const kept = events.flatMap((e) => (e.event.case === "section" ? e.event.value.items.map((i) => i.id) : []));
        expect(kept).toContain("doc-0");
      });

      it("rejects a bad request before streaming anything", async () => {
        await expectStatus(
          collect(client().assembleContext({ scope: newScope(), tokenBudget: 0 })),
          Code.InvalidArgument,
          /^token_budget/,
        );
      });
    });

    it("evicts stale, unimportant memories and keeps the rest, with a dry run first", async () => {
      const scope = newScope();
      const trivial = await client().remember({
        scope,
        type: MemoryType.EPISODIC,
        content: "Said hello",
        importance: 0.1,
      });
      const vital = await client().remember({
        scope,
        type: MemoryType.SEMANTIC,
        content: "Is diabetic",
        importance: 0.9,
      });
      const pinned = await client().remember({
        scope,
        type: MemoryType.SEMANTIC,
        content: "Name is Ana",
        importance: 0,
        pinned: true,
      });
      const policy = { scoreThreshold: 0.5, minAgeHours: 0 };

      const dry = await client().evictStale({ namespace: scope.namespace, userId: scope.userId, dryRun: true, policy });
      expect(dry).toMatchObject({ scanned: 3n, evicted: 1n, evictedIds: [trivial.memory!.id], dryRun: true });
      expect((await client().getMemory({ scope, memoryId: trivial.memory!.id })).memory).toBeDefined();

      const real = await client().evictStale({ namespace: scope.namespace, userId: scope.userId, policy });
      expect(real).toMatchObject({ scanned: 3n, evicted: 1n, dryRun: false });
      // Ids as far as the backend reports them (Weaviate's bulk delete reports counts only).
      expect(real.evictedIds.every((id) => id === trivial.memory!.id)).toBe(true);
      await expectStatus(client().getMemory({ scope, memoryId: trivial.memory!.id }), Code.NotFound);
      await client().getMemory({ scope, memoryId: vital.memory!.id });
      await client().getMemory({ scope, memoryId: pinned.memory!.id });
    });

    describe("bad input", () => {
      const cases: [string, () => Promise<unknown>, RegExp][] = [
        [
          "a missing scope",
          () =>
            client()
              .ping({})
              .then(() => client().getMessages({ sessionId: "s" })),
          /^scope: is required/,
        ],
        [
          "an empty namespace",
          () => client().getMessages({ scope: { namespace: "", userId: "u" }, sessionId: "s" }),
          /^scope\.namespace/,
        ],
        [
          "a malformed user id",
          () => client().getMessages({ scope: { namespace: "e2e", userId: "a b" }, sessionId: "s" }),
          /^scope\.user_id/,
        ],
        [
          "an empty session id",
          () => client().getMessages({ scope: newScope(), sessionId: "" }),
          /^session_id: is required/,
        ],
        [
          "no messages",
          () => client().appendMessages({ scope: newScope(), sessionId: "s", messages: [] }),
          /^messages: /,
        ],
        [
          "an unspecified role",
          () => client().appendMessages({ scope: newScope(), sessionId: "s", messages: [{ content: "x" }] }),
          /^messages\[0\]\.role: is required: one of ROLE_USER, ROLE_ASSISTANT, ROLE_SYSTEM, ROLE_TOOL$/,
        ],
        [
          "an unknown role",
          () =>
            client().appendMessages({
              scope: newScope(),
              sessionId: "s",
              messages: [{ role: 99 as Role, content: "x" }],
            }),
          /^messages\[0\]\.role: has unknown value 99/,
        ],
        [
          "oversized content",
          () =>
            client().appendMessages({
              scope: newScope(),
              sessionId: "s",
              messages: [user("x"), user("y".repeat(32 * 1024 + 1))],
            }),
          /^messages\[1\]\.content: must be at most 32768 bytes/,
        ],
        [
          "an unknown memory type",
          () => client().remember({ scope: newScope(), type: 7 as MemoryType, content: "x" }),
          /^type: has unknown value 7: one of MEMORY_TYPE_EPISODIC, MEMORY_TYPE_SEMANTIC, MEMORY_TYPE_PREFERENCE$/,
        ],
        [
          "importance above 1",
          () =>
            client().remember({
              scope: newScope(),
              type: MemoryType.SEMANTIC,
              content: "x",
              importance: 1.5,
            }),
          /^importance: must be between 0 and 1/,
        ],
        [
          "a future occurred_at",
          () =>
            client().remember({
              scope: newScope(),
              type: MemoryType.EPISODIC,
              content: "x",
              occurredAt: timestampFromDate(new Date(Date.now() + 86_400_000)),
            }),
          /^occurred_at/,
        ],
        [
          "top_k above 100",
          () => client().recall({ scope: newScope(), query: "q", topK: 101 }),
          /^top_k: must be an integer from 1 to 100/,
        ],
        ["a negative top_k", () => client().recall({ scope: newScope(), query: "q", topK: -1 }), /^top_k/],
        ["an empty query", () => client().recall({ scope: newScope(), query: "" }), /^query: must not be empty/],
        [
          "a negative TTL",
          () => client().setWorking({ scope: newScope(), taskId: "t", entries: { k: "v" }, ttlSeconds: -5 }),
          /^ttl_seconds: must be an integer from 0/,
        ],
        [
          "no working entries",
          () => client().setWorking({ scope: newScope(), taskId: "t", entries: {} }),
          /^entries: /,
        ],
        [
          "a user without a namespace for eviction",
          () => client().evictStale({ userId: "u" }),
          /^namespace: is required when user_id is set/,
        ],
        [
          "an out-of-range eviction threshold",
          () => client().evictStale({ namespace: "e2e", policy: { scoreThreshold: 2 } }),
          /^policy\.score_threshold/,
        ],
        [
          "duplicate document ids",
          () =>
            collect(
              client().assembleContext({
                scope: newScope(),
                tokenBudget: 10,
                documents: [
                  { id: "d", content: "a" },
                  { id: "d", content: "b" },
                ],
              }),
            ),
          /^documents\[1\]\.id: duplicates/,
        ],
      ];
      it.each(cases)("rejects %s with INVALID_ARGUMENT naming the field", async (_, call, message) => {
        await expectStatus(call, Code.InvalidArgument, message);
      });

      it("half-applies nothing: a batch with one bad message stores none of it", async () => {
        const scope = newScope();
        await expectStatus(
          client().appendMessages({ scope, sessionId: "atomic", messages: [user("good"), user("")] }),
          Code.InvalidArgument,
          /^messages\[1\]\.content/,
        );
        await expectStatus(client().getMessages({ scope, sessionId: "atomic" }), Code.NotFound);
      });
    });
  });

  it("answers a JSON caller's misspelt enum name with the names it accepts", async () => {
    // What `curl` sends over Connect: a name the contract does not have arrives as unset.
    const response = await fetch(`${engram.server.baseUrl}/engram.v1.MemoryService/Remember`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        scope: { namespace: "e2e", userId: `json-${randomUUID()}` },
        type: "preference",
        content: "Prefers aisle seats",
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      code: "invalid_argument",
      message: "type: is required: one of MEMORY_TYPE_EPISODIC, MEMORY_TYPE_SEMANTIC, MEMORY_TYPE_PREFERENCE",
    });
  });
});
