import { describe, expect, it } from "vitest";
import {
  evictionBands,
  retentionScore,
  selectForEviction,
  selectOverBudget,
  strengthHalfLifeHours,
  survivalHours,
  type EvictionCandidate,
} from "../../src/domain/forgetting.js";

const now = new Date("2026-06-01T00:00:00Z");
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);
const policy = {
  scoreThreshold: 0.1,
  halfLifeHours: 30 * 24,
  minAgeHours: 7 * 24,
  maxAgeHours: 0,
  maxMemoriesPerUser: 0,
};

const candidate = (id: string, overrides: Partial<EvictionCandidate>): EvictionCandidate => ({
  id,
  importance: 0.5,
  pinned: false,
  createdAt: daysAgo(365),
  lastAccessedAt: undefined,
  accessCount: 0,
  ...overrides,
});

describe("forgetting", () => {
  it("halves retention every strength half-life since last use", () => {
    const fresh = candidate("a", { importance: 0.8, lastAccessedAt: now });
    // 0.8 decays 3.2 times slower than trivia: its half-life is 96 days, not 30.
    const halfLife = candidate("b", { importance: 0.8, lastAccessedAt: daysAgo(96) });
    const trivia = candidate("c", { importance: 0.2, lastAccessedAt: daysAgo(30) });
    expect(retentionScore(fresh, now, policy)).toBeCloseTo(0.8);
    expect(retentionScore(halfLife, now, policy)).toBeCloseTo(0.4);
    expect(retentionScore(trivia, now, policy)).toBeCloseTo(0.1);
  });

  it("each recall lengthens the half-life: one doubles it, three triple it", () => {
    expect(strengthHalfLifeHours(0.2, 1, policy)).toBe(2 * strengthHalfLifeHours(0.2, 0, policy));
    expect(strengthHalfLifeHours(0.2, 3, policy)).toBe(3 * strengthHalfLifeHours(0.2, 0, policy));
    for (let n = 0; n < 20; n++) {
      expect(survivalHours(0.5, n + 1, policy)).toBeGreaterThan(survivalHours(0.5, n, policy));
    }
  });

  it("with the defaults, important memories outlive a year unused and trivia goes within two months", () => {
    const defaults = {
      scoreThreshold: 0.05,
      halfLifeHours: 720,
      minAgeHours: 168,
      maxAgeHours: 0,
      maxMemoriesPerUser: 0,
    };
    const days = (importance: number, accessCount = 0) => survivalHours(importance, accessCount, defaults) / 24;
    expect(days(0.8)).toBeGreaterThan(365);
    expect(days(0.9)).toBeGreaterThan(365);
    expect(days(0.2)).toBeLessThanOrEqual(61);
    expect(days(0.2, 1)).toBeGreaterThan(days(0.2));
    // The survival table in docs/concepts.md.
    expect([0.1, 0.2, 0.5, 0.8, 1].map((i) => Math.floor(days(i)))).toEqual([30, 60, 199, 384, 518]);
    expect([0.1, 0.2, 0.5, 0.8, 1].map((i) => Math.floor(days(i, 3)))).toEqual([90, 180, 597, 1152, 1555]);
  });

  it("forgets old, unimportant memories and keeps important or recent ones", () => {
    const selected = selectForEviction(
      [
        candidate("stale-trivial", { importance: 0.2, lastAccessedAt: daysAgo(90) }),
        candidate("stale-important", { importance: 1, lastAccessedAt: daysAgo(60) }),
        candidate("recently-used", { importance: 0.2, lastAccessedAt: daysAgo(1) }),
      ],
      now,
      policy,
    );
    expect(selected).toEqual(["stale-trivial"]);
  });

  it("never forgets pinned or young memories", () => {
    const selected = selectForEviction(
      [
        candidate("pinned", { importance: 0, pinned: true }),
        candidate("young", { importance: 0, createdAt: daysAgo(2) }),
        candidate("old", { importance: 0 }),
      ],
      now,
      policy,
    );
    expect(selected).toEqual(["old"]);
  });

  it("keeps memories that keep being used a little longer", () => {
    const unused = candidate("unused", { importance: 0.15, lastAccessedAt: daysAgo(20) });
    const popular = candidate("popular", { importance: 0.15, lastAccessedAt: daysAgo(20), accessCount: 31 });
    expect(selectForEviction([unused, popular], now, policy)).toEqual(["unused"]);
  });
});

describe("TTL, pinned ids and the per-user budget", () => {
  it("forgets anything unpinned past the TTL, whatever its score", () => {
    const ttl = { ...policy, maxAgeHours: 300 * 24 };
    const selected = selectForEviction(
      [
        candidate("ancient-vital", { importance: 1, lastAccessedAt: now, createdAt: daysAgo(400) }),
        candidate("ancient-pinned", { importance: 1, pinned: true, createdAt: daysAgo(400) }),
        candidate("recent-vital", { importance: 1, lastAccessedAt: now, createdAt: daysAgo(10) }),
      ],
      now,
      ttl,
    );
    expect(selected).toEqual(["ancient-vital"]);
  });

  it("never forgets explicitly pinned ids", () => {
    const pinned = { ...policy, pinnedIds: new Set(["keep-me"]) };
    const stale = { importance: 0, lastAccessedAt: daysAgo(300) };
    expect(selectForEviction([candidate("keep-me", stale), candidate("drop-me", stale)], now, pinned)).toEqual([
      "drop-me",
    ]);
    expect(evictionBands(now, pinned)).toEqual([]);
  });

  it("keeps the best-scoring memories within the budget, never dropping pinned ones", () => {
    const budget = { ...policy, maxMemoriesPerUser: 2 };
    const survivors = [
      { id: "best", score: 0.9, pinned: false },
      { id: "worst", score: 0.1, pinned: false },
      { id: "middle", score: 0.5, pinned: false },
      { id: "pinned-poor", score: 0.05, pinned: true },
    ];
    expect(selectOverBudget(survivors, budget)).toEqual(["worst", "middle"]);
    expect(selectOverBudget(survivors.slice(0, 2), budget)).toEqual([]);
    expect(selectOverBudget(survivors, { ...budget, maxMemoriesPerUser: 0 })).toEqual([]);
  });
});

describe("evictionBands", () => {
  it("only ever matches memories the exact policy would forget", () => {
    const bands = evictionBands(now, policy);
    expect(bands[0]).toMatchObject({ importanceFrom: 0, importanceBelow: 0.1 });
    expect(bands.at(-1)?.importanceBelow).toBe(1);
    // Probe a grid of never-used, unpinned memories: whatever a band matches, the policy evicts.
    for (let importance = 0; importance < 1; importance += 0.01) {
      for (let idleDays = 0; idleDays < 800; idleDays += 3) {
        const c = candidate("probe", { importance, lastAccessedAt: daysAgo(idleDays) });
        const matched = bands.some(
          (b) =>
            importance >= b.importanceFrom &&
            importance < b.importanceBelow &&
            c.lastAccessedAt!.getTime() < b.lastUsedBefore.getTime() &&
            c.createdAt.getTime() < b.createdBefore.getTime(),
        );
        if (matched)
          expect(selectForEviction([c], now, policy), `importance ${importance}, idle ${idleDays} d`).toEqual([
            "probe",
          ]);
      }
    }
  });

  it("matches the bulk of stale memories, not just the trivial ones", () => {
    const bands = evictionBands(now, policy);
    const stale = candidate("stale", { importance: 0.3, lastAccessedAt: daysAgo(200) });
    expect(selectForEviction([stale], now, policy)).toEqual(["stale"]);
    expect(
      bands.some((b) => 0.3 >= b.importanceFrom && 0.3 < b.importanceBelow && stale.lastAccessedAt! < b.lastUsedBefore),
    ).toBe(true);
  });

  it("respects the minimum age", () => {
    expect(evictionBands(now, policy).every((b) => b.createdBefore.getTime() === daysAgo(7).getTime())).toBe(true);
  });
});
