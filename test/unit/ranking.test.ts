import { describe, expect, it } from "vitest";
import { rankMemories, scoreMemory } from "../../src/domain/ranking.js";
import { unknownSource, type Memory } from "../../src/domain/types.js";

const now = new Date("2026-06-01T00:00:00Z");
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);
const policy = { episodicHalfLifeHours: 30 * 24, hybridAlpha: 0.5 };

const memory = (id: string, overrides: Partial<Memory>): Memory => ({
  id,
  scope: { namespace: "n", userId: "u" },
  type: "semantic",
  content: id,
  importance: 0.5,
  metadata: {},
  subject: "",
  pinned: false,
  occurredAt: daysAgo(0),
  createdAt: daysAgo(0),
  updatedAt: daysAgo(0),
  lastAccessedAt: undefined,
  accessCount: 0,
  supersededBy: undefined,
  validUntil: undefined,
  source: unknownSource,
  ...overrides,
});

describe("ranking", () => {
  const events = [
    { memory: memory("old-event", { type: "episodic", occurredAt: daysAgo(240) }), relevance: 0.8 },
    { memory: memory("new-event", { type: "episodic", occurredAt: daysAgo(7) }), relevance: 0.75 },
  ];

  it("ranks the recent of two similar events first when the query is about recency", () => {
    const ranked = rankMemories(events, now, policy, { topK: 10, minScore: 0, aboutRecency: true });
    expect(ranked.map((r) => r.memory.id)).toEqual(["new-event", "old-event"]);
  });

  it("ranks events by relevance alone otherwise: an old event is still the answer to 'when did...'", () => {
    const ranked = rankMemories(events, now, policy, { topK: 10, minScore: 0 });
    expect(ranked.map((r) => r.memory.id)).toEqual(["old-event", "new-event"]);
  });

  it("does not age facts", () => {
    const old = scoreMemory({ memory: memory("fact", { occurredAt: daysAgo(900) }), relevance: 0.7 }, now, policy);
    const fresh = scoreMemory({ memory: memory("fact", { occurredAt: daysAgo(1) }), relevance: 0.7 }, now, policy);
    expect(old).toBeCloseTo(fresh);
  });

  it("does not age pinned events", () => {
    const pinned = memory("p", { type: "episodic", pinned: true, occurredAt: daysAgo(900) });
    expect(scoreMemory({ memory: pinned, relevance: 0.6 }, now, policy, true)).toBeCloseTo(0.6 * 0.95);
  });

  it("weights by importance and drops results under the minimum score", () => {
    const ranked = rankMemories(
      [
        { memory: memory("vital", { importance: 1 }), relevance: 0.5 },
        { memory: memory("trivial", { importance: 0 }), relevance: 0.5 },
        { memory: memory("irrelevant", {}), relevance: 0.05 },
      ],
      now,
      policy,
      { topK: 10, minScore: 0.2 },
    );
    expect(ranked.map((r) => r.memory.id)).toEqual(["vital", "trivial"]);
    expect(ranked[0]!.score).toBeGreaterThan(ranked[1]!.score);
  });

  it("honours top_k", () => {
    const candidates = [0.9, 0.8, 0.7].map((relevance, i) => ({ memory: memory(`m${i}`, {}), relevance }));
    expect(rankMemories(candidates, now, policy, { topK: 2, minScore: 0 }).map((r) => r.memory.id)).toEqual([
      "m0",
      "m1",
    ]);
  });
});
