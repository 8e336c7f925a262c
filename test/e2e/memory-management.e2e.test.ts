import { randomUUID } from "node:crypto";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { MemorySourceKind, MemoryType, RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";
import { collect, expectStatus } from "../support/expect-status.js";

/**
 * Managing what Engram holds of a user, through the gRPC API with the
 * default configuration, on the embedded default and on Redis + Weaviate:
 * importing a history out of order, seeing its history, listing and
 * filtering, correcting, exporting.
 */
const backends = serverBackends();
const year = (y: number) => timestampFromDate(new Date(`${y}-06-01T00:00:00Z`));

describe.each(backends)("memory management on %s", (_, backendEnv) => {
  const { client } = startEngramOnBackend(backendEnv);
  const newScope = () => ({ namespace: "manage", userId: randomUUID() });
  const home = (content: string, y: number) => ({
    type: MemoryType.SEMANTIC,
    content,
    subject: "home",
    occurredAt: year(y),
    createdAt: year(y),
  });

  for (const order of [
    ["Lisbon", "Porto"],
    ["Porto", "Lisbon"],
  ] as const) {
    it(`settles by when things happened: ${order.join(" then ")} imported, Lisbon (2024) is current, Porto (2019) history`, async () => {
      const scope = newScope();
      const facts = { Lisbon: home("Lives in Lisbon", 2024), Porto: home("Lives in Porto", 2019) };
      for (const city of order) {
        const { results } = await client.importMemories({ scope, memories: [facts[city]] });
        expect(results[0]?.error).toBe("");
      }
      const recalled = await client.recall({ scope, query: "Where does the user live?" });
      expect(recalled.memories.map((m) => m.memory?.content)).toEqual(["Lives in Lisbon"]);
      const current = recalled.memories[0]!.memory!;
      expect(current.validUntil).toBeUndefined();
      const { history } = await client.memoryHistory({ scope, memoryId: current.id });
      expect(history.map((h) => h.content)).toEqual(["Lives in Porto"]);
      expect(timestampDate(history[0]!.validFrom!).getUTCFullYear()).toBe(2019);
      expect(timestampDate(history[0]!.validUntil!).getUTCFullYear()).toBe(2024);
      const viaGet = await client.getMemory({ scope, memoryId: current.id, includeHistory: true });
      expect(viaGet.history.map((h) => h.content)).toEqual(["Lives in Porto"]);
    });
  }

  it("keeps both of two imported bookings: events never supersede each other", async () => {
    const scope = newScope();
    const { results } = await client.importMemories({
      scope,
      memories: [
        { type: MemoryType.EPISODIC, content: "I booked a window seat to Paris", occurredAt: year(2024) },
        { type: MemoryType.EPISODIC, content: "I booked an aisle seat to Lisbon", occurredAt: year(2025) },
      ],
    });
    expect(results.map((r) => r.outcome)).toEqual([RememberOutcome.CREATED, RememberOutcome.CREATED]);
    const recalled = await client.recall({ scope, query: "Which seats did I book?" });
    expect(recalled.memories.map((m) => m.memory?.content).sort()).toEqual([
      "I booked a window seat to Paris",
      "I booked an aisle seat to Lisbon",
    ]);
  });

  it("an older preference imported late is stored as history, never current", async () => {
    const scope = newScope();
    await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "I prefer Go for scripts",
      occurredAt: year(2024),
    });
    const { results } = await client.importMemories({
      scope,
      memories: [{ type: MemoryType.PREFERENCE, content: "I prefer Python for scripting", occurredAt: year(2020) }],
    });
    expect(results[0]?.outcome).toBe(RememberOutcome.STORED_AS_HISTORY);
    const old = await client.getMemory({ scope, memoryId: results[0]!.memoryId });
    expect(old.memory?.supersededBy).not.toBe("");
    expect(timestampDate(old.memory!.validUntil!).getUTCFullYear()).toBe(2024);
    const recalled = await client.recall({ scope, query: "which programming language for a script" });
    expect(recalled.memories.map((m) => m.memory?.content)).toContain("I prefer Go for scripts");
    expect(recalled.memories.map((m) => m.memory?.content)).not.toContain("I prefer Python for scripting");
  });

  it("imports with the source's timestamps and usage, in one call, with a result per memory", async () => {
    const scope = newScope();
    const created = new Date("2025-01-10T08:00:00Z");
    const used = new Date("2025-03-01T08:00:00Z");
    const { results } = await client.importMemories({
      scope,
      memories: [
        {
          type: MemoryType.SEMANTIC,
          content: "Has a cat called Miso",
          importance: 0.7,
          metadata: { origin: "crm" },
          createdAt: timestampFromDate(created),
          lastAccessedAt: timestampFromDate(used),
          accessCount: 4n,
        },
        { type: MemoryType.SEMANTIC, content: "Works as a nurse" },
      ],
    });
    expect(results.map((r) => r.index)).toEqual([0, 1]);
    const cat = (await client.getMemory({ scope, memoryId: results[0]!.memoryId })).memory!;
    expect(timestampDate(cat.createdAt!)).toEqual(created);
    expect(timestampDate(cat.occurredAt!)).toEqual(created);
    expect(timestampDate(cat.lastAccessedAt!)).toEqual(used);
    expect(cat.accessCount).toBe(4n);
    expect(cat.metadata).toEqual({ origin: "crm" });
    expect(cat.source?.kind).toBe(MemorySourceKind.IMPORT);
  });

  it("refuses malformed imports naming the item's field", async () => {
    const scope = newScope();
    await expectStatus(
      client.importMemories({ scope, memories: [{ type: MemoryType.SEMANTIC, content: "" }] }),
      Code.InvalidArgument,
      /memories\[0\]\.content/,
    );
    await expectStatus(
      client.importMemories({
        scope,
        memories: [
          { type: MemoryType.SEMANTIC, content: "x", createdAt: timestampFromDate(new Date(Date.now() + 86_400_000)) },
        ],
      }),
      Code.InvalidArgument,
      /memories\[0\]\.created_at/,
    );
    await expectStatus(
      client.importMemories({
        scope,
        memories: Array.from({ length: 1001 }, () => ({ type: MemoryType.SEMANTIC, content: "x" })),
      }),
      Code.InvalidArgument,
      /memories.*at most 1000/,
    );
  });

  it("corrects a memory: re-redacted, re-embedded, the old version kept in its history", async () => {
    const scope = newScope();
    const { memory } = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "Works at Acme",
      importance: 0.4,
    });
    const { memory: updated } = await client.updateMemory({
      scope,
      memoryId: memory!.id,
      content: "Works at Initech, reach them at jo@example.com",
      importance: 0.9,
      pinned: true,
      metadata: { verified: "yes" },
      replaceMetadata: true,
    });
    expect(updated?.id).toBe(memory!.id);
    expect(updated?.content).not.toContain("jo@example.com");
    expect(updated).toMatchObject({ importance: expect.closeTo(0.9, 5), pinned: true, metadata: { verified: "yes" } });
    const recalled = await client.recall({ scope, query: "Initech" });
    expect(recalled.memories[0]?.memory?.id).toBe(memory!.id);
    const { history } = await client.memoryHistory({ scope, memoryId: memory!.id });
    expect(history.map((h) => [h.content, Math.round(h.importance * 10)])).toEqual([["Works at Acme", 4]]);
    await expectStatus(client.updateMemory({ scope, memoryId: "missing", importance: 0.5 }), Code.NotFound);
    await expectStatus(
      client.updateMemory({ scope, memoryId: memory!.id, importance: 2 }),
      Code.InvalidArgument,
      /importance/,
    );
  });

  it("lists 1,000 memories page by page with no duplicate or gap while memories are added", async () => {
    const scope = newScope();
    const existing: string[] = [];
    // Short texts told apart by their number (never merged: numbers are informative tokens). A random id in
    // each tripled the tokens to embed: 20 s per 500 on the default embedder on a loaded machine, 3 s without.
    for (let batch = 0; batch < 2; batch++) {
      const { results } = await client.importMemories({
        scope,
        memories: Array.from({ length: 500 }, (_, i) => ({
          type: MemoryType.EPISODIC,
          content: `Entry ${batch * 500 + i}`,
          createdAt: timestampFromDate(new Date(Date.UTC(2025, 0, 1) + (batch * 500 + i) * 60_000)),
        })),
      });
      expect(results.every((r) => r.outcome === RememberOutcome.CREATED)).toBe(true);
      existing.push(...results.map((r) => r.memoryId));
    }
    const seen: string[] = [];
    let pageToken = "";
    let added = 0;
    do {
      const page = await client.listMemories({ scope, pageSize: 90, pageToken });
      seen.push(...page.memories.map((m) => m.id));
      pageToken = page.nextPageToken;
      // Written while paging: one now (after the cursor), one dated before everything.
      await client.importMemories({
        scope,
        memories: [
          { type: MemoryType.EPISODIC, content: `Added later ${1000 + added++}` },
          {
            type: MemoryType.EPISODIC,
            content: `Added early ${1000 + added++}`,
            createdAt: timestampFromDate(new Date(Date.UTC(2024, 0, 1))),
          },
        ],
      });
    } while (pageToken !== "");
    expect(new Set(seen).size).toBe(seen.length);
    const existingSet = new Set(existing);
    expect(seen.filter((id) => existingSet.has(id)).sort()).toEqual([...existing].sort());
    await expectStatus(client.listMemories({ scope, pageToken: "not-a-token" }), Code.InvalidArgument, /page_token/);
    await expectStatus(client.listMemories({ scope, pageSize: 5000 }), Code.InvalidArgument, /page_size/);
  });

  it("filters listing and recall to exactly the matching memories", async () => {
    const scope = newScope();
    const { results } = await client.importMemories({
      scope,
      memories: Array.from({ length: 24 }, (_, i) => ({
        type: [MemoryType.EPISODIC, MemoryType.SEMANTIC, MemoryType.PREFERENCE][i % 3]!,
        content: `Customer note ${i} about order ${randomUUID().slice(0, 8)}`,
        subject: i % 4 === 0 ? `topic-${i}` : "",
        pinned: i % 5 === 0,
        metadata: { channel: i % 2 === 0 ? "email" : "phone" },
        occurredAt: timestampFromDate(new Date(Date.UTC(2025, 0, 1 + i))),
      })),
    });
    const ids = results.map((r) => r.memoryId);
    const listIds = async (filter: object) =>
      (await client.listMemories({ scope, filter, pageSize: 1000 })).memories.map((m) => m.id).sort();
    const expectIds = (pick: (i: number) => boolean) => ids.filter((_, i) => pick(i)).sort();
    expect(await listIds({ metadata: { channel: "email" } })).toEqual(expectIds((i) => i % 2 === 0));
    expect(await listIds({ types: [MemoryType.SEMANTIC], pinned: false })).toEqual(
      expectIds((i) => i % 3 === 1 && i % 5 !== 0),
    );
    expect(await listIds({ subject: "topic-8" })).toEqual(expectIds((i) => i === 8));
    expect(
      await listIds({
        occurredFrom: timestampFromDate(new Date(Date.UTC(2025, 0, 5))),
        occurredBefore: timestampFromDate(new Date(Date.UTC(2025, 0, 9))),
      }),
    ).toEqual(expectIds((i) => i >= 4 && i < 8));
    const recalled = await client.recall({
      scope,
      query: "customer note about an order",
      topK: 100,
      filter: { metadata: { channel: "phone" }, types: [MemoryType.EPISODIC] },
    });
    expect(recalled.memories.map((m) => m.memory!.id).sort()).toEqual(expectIds((i) => i % 2 === 1 && i % 3 === 0));
    await expectStatus(
      client.listMemories({
        scope,
        filter: {
          createdFrom: timestampFromDate(new Date(Date.UTC(2025, 1, 1))),
          createdBefore: timestampFromDate(new Date(Date.UTC(2025, 0, 1))),
        },
      }),
      Code.InvalidArgument,
      /filter\.created_from/,
    );
  });

  it("filters by the session a memory was learnt from", async () => {
    const scope = newScope();
    await client.appendMessages({
      scope,
      sessionId: "trip",
      messages: [{ role: Role.USER, content: "I prefer window seats on trains" }],
    });
    await client.endSession({ scope, sessionId: "trip" });
    await client.remember({ scope, type: MemoryType.SEMANTIC, content: "Has two children" });
    const fromTrip = await client.listMemories({ scope, filter: { sourceSessionId: "trip" } });
    expect(fromTrip.memories.map((m) => [m.source?.sessionId, m.content])).toEqual([
      ["trip", "I prefer window seats on trains"],
    ]);
    const all = await client.listMemories({ scope });
    expect(all.memories).toHaveLength(2);
  });

  it("exports everything of a user in every tier, and ForgetUser erases memories with their history", async () => {
    const scope = newScope();
    const { memory } = await client.remember({ scope, type: MemoryType.SEMANTIC, content: "Owns a red bicycle" });
    await client.updateMemory({ scope, memoryId: memory!.id, content: "Owns a blue bicycle" });
    await client.setWorking({ scope, taskId: "plan-trip", entries: { step: "book hotel" }, ttlSeconds: 600 });
    await client.appendMessages({ scope, sessionId: "chat", messages: [{ role: Role.USER, content: "hello there" }] });
    const items = await collect(client.exportUser({ scope }));
    const exported = items.flatMap((i) => (i.item.case === "memory" ? [i.item.value] : []));
    expect(exported.map((m) => [m.memory?.content, m.history.map((h) => h.content)])).toEqual([
      ["Owns a blue bicycle", ["Owns a red bicycle"]],
    ]);
    expect(items.flatMap((i) => (i.item.case === "task" ? [i.item.value.taskId] : []))).toEqual(["plan-trip"]);
    const sessions = items.flatMap((i) => (i.item.case === "session" ? [i.item.value] : []));
    expect(sessions.map((s) => [s.sessionId, s.messages.map((m) => m.content)])).toEqual([["chat", ["hello there"]]]);

    await client.forgetUser({ scope });
    await expectStatus(client.memoryHistory({ scope, memoryId: memory!.id }), Code.NotFound);
    expect(await collect(client.exportUser({ scope }))).toEqual([]);
  });
});
