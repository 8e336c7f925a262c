import { describe, expect, it } from "vitest";
import { discountOutsidePeriod, withPeriodCandidates } from "../../src/domain/period-match.js";
import type { CandidateHit } from "../../src/domain/ports.js";
import { readQueryPeriod } from "../../src/domain/query-period.js";
import { unknownSource, type MemoryRecord } from "../../src/domain/types.js";

const at = (iso: string) => new Date(iso);
const record = (id: string, occurredAt: string): MemoryRecord => ({
  id,
  scope: { namespace: "n", userId: "u" },
  type: "episodic",
  content: id,
  importance: 0.5,
  metadata: {},
  subject: "",
  pinned: false,
  occurredAt: at(occurredAt),
  createdAt: at(occurredAt),
  updatedAt: at(occurredAt),
  lastAccessedAt: undefined,
  accessCount: 0,
  supersededBy: undefined,
  validUntil: undefined,
  source: unknownSource,
  embedding: new Float32Array(0),
});

describe("discountOutsidePeriod", () => {
  const march = record("said in March", "2023-03-10T12:00:00Z");
  const earlyApril = record("said on 3 April, about March", "2023-04-03T12:00:00Z");
  const june = record("said in June", "2023-06-10T12:00:00Z");
  const candidates = [
    { memory: june, relevance: 0.6 },
    { memory: march, relevance: 0.4 },
    { memory: earlyApril, relevance: 0.2 },
  ];

  it("discounts memories said outside the named period, so the period's best can pass a better match", () => {
    const discounted = discountOutsidePeriod(candidates, readQueryPeriod("What did she buy in March 2023?"), 0.5);
    expect(discounted.map((c) => c.relevance)).toEqual([0.3, 0.4, 0.2]);
  });

  it("leaves relevances alone when the query names no period", () => {
    expect(discountOutsidePeriod(candidates, readQueryPeriod("What did she buy?"), 0.5)).toEqual(candidates);
  });
});

describe("withPeriodCandidates", () => {
  it("merges the period's hits into each signal's list, best first, each memory once", () => {
    const hit = (id: string, score: number): CandidateHit => ({ record: record(id, "2023-03-01T00:00:00Z"), score });
    const merged = withPeriodCandidates(
      { vector: [hit("a", 0.9), hit("b", 0.5)], lexical: [hit("a", 7)] },
      { vector: [hit("b", 0.5), hit("c", 0.3)], lexical: [hit("d", 2)] },
    );
    expect(merged.vector.map((h) => h.record.id)).toEqual(["a", "b", "c"]);
    expect(merged.lexical.map((h) => [h.record.id, h.score])).toEqual([
      ["a", 7],
      ["d", 2],
    ]);
  });
});
