import { describe, expect, it } from "vitest";
import { ResourceExhaustedError } from "../../src/domain/errors.js";
import { planSettlement, type EmbeddedMemory } from "../../src/domain/settlement-plan.js";
import type { MemoryRecord, MemoryType } from "../../src/domain/types.js";
import { embedder, memoryRecord } from "../support/memory-fixtures.js";

const scope = { namespace: "n", userId: "u" };
const now = new Date("2026-06-01T12:00:00Z");
const day = (d: number) => new Date(Date.UTC(2026, 4, d));

function item(type: MemoryType, content: string, occurredAt: Date, subject = ""): EmbeddedMemory {
  return {
    type,
    content,
    importance: 0.6,
    metadata: {},
    subject,
    pinned: false,
    occurredAt,
    source: { kind: "remember", sessionId: "", messageIds: [], caller: "t" },
    embedding: embedder.embedOne(content),
  };
}

function plan(items: EmbeddedMemory[], existing: { record: MemoryRecord; relevance: number }[][] = [], room = 100) {
  let next = 0;
  return planSettlement(items, existing, { scope, room, maxMemoriesPerUser: 100, now, newId: () => `new-${++next}` });
}

describe("planSettlement", () => {
  it("creates a memory nothing stored resembles", () => {
    const p = plan([item("preference", "I like jazz", day(1))]);
    expect(p.results).toMatchObject([{ outcome: "created", memory: { id: "new-1", content: "I like jazz" } }]);
    expect(p.inserts.map((r) => r.id)).toEqual(["new-1"]);
    expect(p.updates).toEqual([]);
  });

  it("merges a near-duplicate into the stored memory, keeping the longer text and counting a use", () => {
    const stored = memoryRecord(scope, "Prefers aisle seats", { type: "preference", occurredAt: day(1) });
    const p = plan(
      [item("preference", "The user prefers aisle seats on long flights", day(2))],
      [[{ record: stored, relevance: 0.95 }]],
    );
    expect(p.results).toMatchObject([{ outcome: "merged", memory: { id: stored.id } }]);
    expect(p.inserts).toEqual([]);
    expect(p.updates).toMatchObject([
      {
        id: stored.id,
        content: "The user prefers aisle seats on long flights",
        history: [{ content: "Prefers aisle seats" }],
      },
    ]);
    expect(p.retold).toEqual([stored.id]);
  });

  it("updates a fact of the same subject in place, the old text in its history", () => {
    const stored = memoryRecord(scope, "Works at Acme", { subject: "employer", occurredAt: day(1) });
    const p = plan([item("semantic", "Works at Globex", day(3), "employer")], [[{ record: stored, relevance: 0.6 }]]);
    expect(p.results).toMatchObject([{ outcome: "updated", memory: { id: stored.id, content: "Works at Globex" } }]);
    expect(p.updates[0]!.history).toMatchObject([{ content: "Works at Acme", validUntil: day(3) }]);
  });

  it("supersedes an older preference of the same subject, which stays as history", () => {
    const stored = memoryRecord(scope, "Prefers Python", {
      type: "preference",
      subject: "language",
      occurredAt: day(1),
    });
    const p = plan([item("preference", "Switched to Go", day(4), "language")], [[{ record: stored, relevance: 0.5 }]]);
    expect(p.results).toMatchObject([{ outcome: "superseded_older", supersededIds: [stored.id] }]);
    expect(p.updates).toMatchObject([{ id: stored.id, supersededBy: "new-1", validUntil: day(4) }]);
    expect(p.superseded).toBe(1);
  });

  it("stores an incoming preference older than the current one as history from the start", () => {
    const current = memoryRecord(scope, "Prefers Go", { type: "preference", subject: "language", occurredAt: day(5) });
    const p = plan([item("preference", "Prefers Python", day(2), "language")], [[{ record: current, relevance: 0.5 }]]);
    expect(p.results).toMatchObject([{ outcome: "stored_as_history" }]);
    expect(p.inserts).toMatchObject([{ supersededBy: current.id, validUntil: day(5) }]);
    expect(p.updates).toEqual([]);
  });

  it("settles a write that states no time as told now: received before the stored one, it still updates it", () => {
    // Two replicas: this write was received at 11:59:59 but embedded slowly; another replica received and
    // settled its own at 11:59:59.5 meanwhile. The user's turn orders them: this one is the newer telling.
    const stored = memoryRecord(scope, "I work at Initech", {
      subject: "employer",
      occurredAt: new Date("2026-06-01T11:59:59.500Z"),
    });
    const received = item("semantic", "I work at Acme", new Date("2026-06-01T11:59:59Z"), "employer");
    const p = plan([{ ...received, undated: true }], [[{ record: stored, relevance: 0.7 }]]);
    expect(p.results).toMatchObject([{ outcome: "updated", memory: { id: stored.id, content: "I work at Acme" } }]);
    expect(p.updates).toMatchObject([{ id: stored.id, occurredAt: now, history: [{ content: "I work at Initech" }] }]);
    expect(p.inserts).toEqual([]);
    // The same time stated by the caller is history: it happened before what is stored.
    expect(plan([received], [[{ record: stored, relevance: 0.7 }]]).results).toMatchObject([
      { outcome: "stored_as_history" },
    ]);
  });

  it("settles a write that states no time no earlier than what it is compared with (a replica's clock ahead)", () => {
    const ahead = new Date(now.getTime() + 40);
    const stored = memoryRecord(scope, "I work at Initech", { subject: "employer", occurredAt: ahead });
    const undated = { ...item("semantic", "I work at Acme", now, "employer"), undated: true };
    const p = plan([undated], [[{ record: stored, relevance: 0.7 }]]);
    expect(p.results).toMatchObject([{ outcome: "updated", memory: { id: stored.id, occurredAt: ahead } }]);
  });

  it("settles a batch in occurrence order, later items seeing earlier ones", () => {
    const p = plan([
      item("preference", "Switched to Go", day(4), "language"),
      item("preference", "Prefers Python", day(1), "language"),
    ]);
    expect(p.results).toMatchObject([
      { outcome: "superseded_older", supersededIds: ["new-1"] },
      { outcome: "created", memory: { id: "new-1" } },
    ]);
    expect(p.inserts.find((r) => r.id === "new-1")).toMatchObject({ supersededBy: "new-2" });
  });

  it("refuses new memories beyond the user's room but still merges", () => {
    const stored = memoryRecord(scope, "likes jazz", { type: "preference", occurredAt: day(1) });
    const p = plan(
      [
        item("preference", "likes jazz", day(2)),
        item("semantic", "Lives in Lisbon", day(2)),
        item("semantic", "Has a dog", day(3)),
      ],
      [[{ record: stored, relevance: 0.99 }], [], []],
      1,
    );
    expect(p.results[0]).toMatchObject({ outcome: "merged" });
    expect(p.results[1]).toMatchObject({ outcome: "created" });
    expect(p.results[2]).toBeInstanceOf(ResourceExhaustedError);
    expect(p.inserts).toHaveLength(1);
  });
});
