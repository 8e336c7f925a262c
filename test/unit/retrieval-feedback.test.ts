import { describe, expect, it } from "vitest";
import { rankBand, scoreRetrieval } from "../../src/domain/retrieval-feedback.js";
import { InProcessRetrievalLog, type RetrievalEntry } from "../../src/domain/retrieval-log.js";

const returned = ["a", "b", "c", "d", "e"];

describe("scoreRetrieval", () => {
  it("scores a used memory by the rank it was returned at", () => {
    const score = scoreRetrieval(returned, ["c"]);
    expect(score).toMatchObject({ returned: 5, used: 1, precision: 0.2, hit: true, usedRanks: [3] });
    if ("notReturned" in score) throw new Error("unexpected");
    expect(score.reciprocalRank).toBeCloseTo(1 / 3);
    // One relevant item at rank 3: (1 / log2 4) / (1 / log2 2) = 0.5.
    expect(score.ndcg).toBeCloseTo(0.5);
  });

  it("gives nDCG 1 when the used memories came first, and less when they came later", () => {
    const first = scoreRetrieval(returned, ["b", "a"]);
    const last = scoreRetrieval(returned, ["e", "d"]);
    if ("notReturned" in first || "notReturned" in last) throw new Error("unexpected");
    expect(first.ndcg).toBeCloseTo(1);
    expect(first.reciprocalRank).toBe(1);
    expect(first.usedRanks).toEqual([2, 1]);
    expect(last.ndcg).toBeLessThan(0.6);
    expect(last.reciprocalRank).toBeCloseTo(0.25);
  });

  it("scores nothing used as a miss, and counts a repeated id once", () => {
    expect(scoreRetrieval(returned, [])).toMatchObject({ precision: 0, hit: false, reciprocalRank: 0, ndcg: 0 });
    expect(scoreRetrieval(returned, ["a", "a"])).toMatchObject({ used: 1, precision: 0.2 });
  });

  it("names the first used id that was not returned", () => {
    expect(scoreRetrieval(returned, ["a", "zzz"])).toEqual({ notReturned: 1 });
  });

  it("bands ranks into a bounded set of labels", () => {
    expect([1, 2, 3, 4, 5, 6, 10, 11, 20, 21, 100].map(rankBand)).toEqual([
      "1",
      "2",
      "3",
      "4-5",
      "4-5",
      "6-10",
      "6-10",
      "11-20",
      "11-20",
      "21+",
      "21+",
    ]);
  });
});

describe("InProcessRetrievalLog", () => {
  const scope = { namespace: "app", userId: "u" };
  const entry = (id: string, createdAtMs: number): RetrievalEntry => ({
    id,
    ...scope,
    purpose: "recall",
    memoryIds: ["m"],
    createdAtMs,
  });

  it("finds an entry only for its own scope, and marks it reported once", async () => {
    const log = new InProcessRetrievalLog(1000, 10);
    await log.put(entry("r1", 0));
    expect(await log.get({ namespace: "app", userId: "other" }, "r1", 1)).toBeUndefined();
    expect(await log.markReported({ namespace: "app", userId: "other" }, "r1")).toBe(false);
    expect((await log.get(scope, "r1", 1))?.memoryIds).toEqual(["m"]);
    expect(await log.markReported(scope, "r1")).toBe(true);
    expect(await log.markReported(scope, "r1")).toBe(false);
    expect(await log.get(scope, "unknown", 2)).toBeUndefined();
  });

  it("forgets entries past their time to live", async () => {
    const log = new InProcessRetrievalLog(1000, 10);
    await log.put(entry("old", 0));
    expect(await log.get(scope, "old", 1000)).toBeDefined();
    expect(await log.get(scope, "old", 1001)).toBeUndefined();
    // And drops them from memory on the next put.
    await log.put(entry("new", 1500));
    expect(log.size).toBe(1);
  });

  it("holds at most maxEntries, dropping the oldest", async () => {
    const log = new InProcessRetrievalLog(60_000, 3);
    for (let i = 0; i < 5; i++) await log.put(entry(`r${i}`, i));
    expect(log.size).toBe(3);
    expect(await log.get(scope, "r1", 10)).toBeUndefined();
    expect(await log.get(scope, "r2", 10)).toBeDefined();
  });
});
