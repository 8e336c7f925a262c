import { expect, it } from "vitest";
import type { MemoryFilter, Stores } from "../../src/domain/ports.js";
import type { MemoryRecord, MemoryType, Scope } from "../../src/domain/types.js";
import { embedder, freshScope, memoryRecord } from "../support/memory-fixtures.js";

/**
 * The long-term store's listing, filters and history, part of the storage
 * contract: every backend must list in one stable order, filter inside its
 * own query with exactly the semantics below, and keep history with the
 * memory. `stores` is read lazily: the suite opens it in beforeAll.
 */
export function describeListingContract(stores: () => Stores): void {
  const day = 86_400_000;
  const base = Date.UTC(2025, 0, 1);

  /** Every page of a listing, `pageSize` at a time; `between` runs after each page. */
  async function listAll(
    scope: Scope,
    filter: MemoryFilter,
    pageSize: number,
    between?: () => Promise<void>,
  ): Promise<MemoryRecord[]> {
    const all: MemoryRecord[] = [];
    for (;;) {
      const last = all.at(-1);
      const page = await stores().longTerm.list(
        scope,
        filter,
        last ? { createdAt: last.createdAt, id: last.id } : undefined,
        pageSize,
      );
      all.push(...page);
      if (page.length < pageSize) return all;
      await between?.();
    }
  }

  it("pages through 1,000 memories in a stable order with no duplicate or gap while memories are added", async () => {
    const scope = freshScope();
    // Several memories share a creation time: the id breaks the tie.
    const existing = Array.from({ length: 1000 }, (_, i) =>
      memoryRecord(scope, `existing memory ${i}`, { createdAt: new Date(base + Math.floor(i / 3) * 1000) }),
    );
    expect((await stores().longTerm.insertMany(existing)).failed).toEqual([]);
    let added = 0;
    const listed = await listAll(scope, {}, 64, async () => {
      // New memories land before, among and after the cursor.
      const at = [base - day, base + 200_000, Date.now()][added % 3]!;
      await stores().longTerm.insert(memoryRecord(scope, `added memory ${added++}`, { createdAt: new Date(at) }));
    });
    const ids = listed.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const existingIds = new Set(existing.map((r) => r.id));
    expect(ids.filter((id) => existingIds.has(id)).sort()).toEqual([...existingIds].sort());
    const keys = listed.map((r) => `${String(r.createdAt.getTime()).padStart(15, "0")}:${r.id}`);
    expect(keys).toEqual([...keys].sort());
    expect(added).toBeGreaterThan(10);
  }, 60_000);

  it("filters return exactly the matching set", async () => {
    const scope = freshScope();
    const types: MemoryType[] = ["episodic", "semantic", "preference"];
    const records = Array.from({ length: 60 }, (_, i) =>
      memoryRecord(scope, `filtered memory number ${i}`, {
        type: types[i % 3]!,
        subject: i % 4 === 0 ? "home" : "",
        pinned: i % 5 === 0,
        supersededBy: i % 7 === 0 ? "successor-id" : undefined,
        metadata: { source: i % 2 === 0 ? "crm" : "chat", ...(i % 6 === 0 ? { team: "blue" } : {}) },
        source: {
          kind: i % 3 === 0 ? "session" : "remember",
          sessionId: i % 3 === 0 ? `session-${i % 9}` : "",
          messageIds: i % 3 === 0 ? [`m-${i}`] : [],
          caller: "",
        },
        occurredAt: new Date(base + i * day),
        createdAt: new Date(base + (60 - i) * day),
      }),
    );
    expect((await stores().longTerm.insertMany(records)).failed).toEqual([]);
    const cases: [MemoryFilter, (r: MemoryRecord) => boolean][] = [
      [{}, () => true],
      [{ types: ["semantic"] }, (r) => r.type === "semantic"],
      [{ types: ["episodic", "preference"] }, (r) => r.type !== "semantic"],
      [{ subject: "home" }, (r) => r.subject === "home"],
      [{ pinned: true }, (r) => r.pinned],
      [{ pinned: false }, (r) => !r.pinned],
      [{ superseded: true }, (r) => r.supersededBy !== undefined],
      [{ superseded: false }, (r) => r.supersededBy === undefined],
      [{ supersededBy: "successor-id" }, (r) => r.supersededBy === "successor-id"],
      [{ metadata: { source: "crm" } }, (r) => r.metadata.source === "crm"],
      [{ metadata: { source: "crm", team: "blue" } }, (r) => r.metadata.source === "crm" && r.metadata.team === "blue"],
      [{ metadata: { team: "red" } }, () => false],
      [{ sourceSessionId: "session-3" }, (r) => r.source.sessionId === "session-3"],
      [
        { occurredFrom: new Date(base + 10 * day), occurredBefore: new Date(base + 20 * day) },
        (r) => r.occurredAt.getTime() >= base + 10 * day && r.occurredAt.getTime() < base + 20 * day,
      ],
      [{ createdFrom: new Date(base + 50 * day) }, (r) => r.createdAt.getTime() >= base + 50 * day],
      [
        { types: ["episodic"], pinned: false, metadata: { source: "crm" }, createdBefore: new Date(base + 40 * day) },
        (r) =>
          r.type === "episodic" && !r.pinned && r.metadata.source === "crm" && r.createdAt.getTime() < base + 40 * day,
      ],
    ];
    for (const [filter, matches] of cases) {
      const listed = await listAll(scope, filter, 7);
      const expected = records.filter(matches).map((r) => r.id);
      expect(listed.map((r) => r.id).sort(), JSON.stringify(filter)).toEqual(expected.sort());
    }
    // A search applies the same filter inside its query.
    const [query] = await embedder.embed(["filtered memory"]);
    const hits = await stores().longTerm.search(scope, {
      embedding: query!,
      text: "filtered memory",
      // Hybrid: the lexical candidates are filtered as well as the vector ones.
      alpha: 0.5,
      types: [],
      includeSuperseded: true,
      limit: 100,
      filter: { metadata: { team: "blue" }, pinned: false },
    });
    const expected = records.filter((r) => r.metadata.team === "blue" && !r.pinned).map((r) => r.id);
    expect(hits.map((h) => h.record.id).sort()).toEqual(expected.sort());
  }, 60_000);

  it("keeps a memory's earlier versions with it, and erases them with it", async () => {
    const scope = freshScope();
    const record = memoryRecord(scope, "Lives in Porto", {
      subject: "home",
      occurredAt: new Date(base),
      history: [],
    });
    await stores().longTerm.insert(record);
    const version = {
      content: "Lives in Porto",
      importance: 0.5,
      subject: "home",
      metadata: { source: "import" },
      validFrom: new Date(base),
      validUntil: new Date(base + day),
      replacedAt: new Date(base + 2 * day),
    };
    const updated: MemoryRecord = {
      ...record,
      content: "Lives in Lisbon",
      embedding: embedder.embedOne("Lives in Lisbon"),
      occurredAt: new Date(base + day),
      history: [version],
    };
    expect(await stores().longTerm.update(updated)).toBe(true);
    const read = await stores().longTerm.get(scope, record.id);
    expect(read?.content).toBe("Lives in Lisbon");
    expect(read?.history).toEqual([version]);
    const [listed] = await stores().longTerm.list(scope, {}, undefined, 10);
    expect(listed?.history).toEqual([version]);
    expect(await stores().longTerm.deleteUser(scope)).toBe(1);
    expect(await stores().longTerm.get(scope, record.id)).toBeUndefined();
  });
}
