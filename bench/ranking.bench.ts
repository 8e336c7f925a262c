import { fuseRelativeScores } from "../src/domain/hybrid-fusion.js";
import type { CandidateHit } from "../src/domain/ports.js";
import { rankMemories } from "../src/domain/ranking.js";
import { defaultRecallStages, rankRecallCandidates } from "../src/domain/recall-ranking.js";
import { readRecallQuery } from "../src/domain/recall-query.js";
import { discountOutsidePeriod, withPeriodCandidates } from "../src/domain/period-match.js";
import { liftReplies } from "../src/domain/reply-lift.js";
import { boostNamedSpeakers } from "../src/domain/speaker-match.js";
import { unknownSource, withoutEmbedding, type MemoryRecord } from "../src/domain/types.js";
import { measure } from "./measure.js";

/**
 * Recall's ranking stages (domain/recall-ranking.ts) per call, in process,
 * over a recall's worth of candidates (`perList` of each signal, half of
 * them in both lists, in sessions of alternating speakers), beside the
 * ranking they replaced (fuse, then type/recency/importance) in the same
 * run. The stages run once per Recall, after the store's search.
 */
export async function benchRanking(options: { calls: number; perList?: number }): Promise<void> {
  const perList = options.perList ?? 50;
  const now = new Date();
  const records: MemoryRecord[] = Array.from({ length: perList * 1.5 }, (_, i) => ({
    id: `m${i}`,
    scope: { namespace: "bench", userId: "u" },
    type: i % 3 === 0 ? "semantic" : "episodic",
    content: `memory ${i} about the garden, the lake and a painting`,
    importance: (i % 10) / 10,
    metadata: {},
    subject: "",
    pinned: false,
    occurredAt: new Date(now.getTime() - i * 60_000),
    createdAt: now,
    updatedAt: now,
    lastAccessedAt: undefined,
    accessCount: 0,
    supersededBy: undefined,
    validUntil: undefined,
    source: { ...unknownSource, kind: "session", sessionId: `s${Math.floor(i / 20)}` },
    speaker: i % 2 === 0 ? "Caroline" : "Melanie",
    embedding: new Float32Array(0),
  }));
  const vector: CandidateHit[] = records.slice(0, perList).map((record, i) => ({ record, score: 0.9 - i / 200 }));
  const lexical: CandidateHit[] = records.slice(perList / 2).map((record, i) => ({ record, score: 12 - i / 10 }));
  const text = "What did Caroline paint by the lake last summer?";
  const policy = { episodicHalfLifeHours: 720, hybridAlpha: 0.5, ...defaultRecallStages };
  const options10 = { topK: 10, minScore: 0 };
  const run = { calls: options.calls * 20, concurrency: 1, warmup: 200 };
  const sync = (f: () => unknown) => async () => void f();

  const memories = new Map(records.map((r) => [r.id, withoutEmbedding(r)]));
  const fusedCandidates = () =>
    fuseRelativeScores(
      vector.map((h) => ({ id: h.record.id, score: h.score })),
      lexical.map((h) => ({ id: h.record.id, score: h.score })),
      0.5,
    ).map((s) => ({ memory: memories.get(s.id)!, relevance: s.score }));
  const fused = fusedCandidates();
  const query = readRecallQuery(text);
  const dated = readRecallQuery("What did Caroline paint by the lake in July 2023?");
  const rows = [
    await measure(
      "before: fuse, then type/recency/importance (baseline)",
      sync(() => rankMemories(fusedCandidates(), now, policy, { ...options10, aboutRecency: true })),
      run,
    ),
    await measure(
      "readRecallQuery",
      sync(() => readRecallQuery(text)),
      run,
    ),
    await measure("fuse (relative score)", sync(fusedCandidates), run),
    await measure(
      "boostNamedSpeakers",
      sync(() => boostNamedSpeakers(fused, query.names, 0.25)),
      run,
    ),
    await measure(
      "liftReplies",
      sync(() => liftReplies(fused, 0.5, 600_000)),
      run,
    ),
    await measure(
      "discountOutsidePeriod (a query naming a month)",
      sync(() => discountOutsidePeriod(fused, dated.period, 0.5)),
      run,
    ),
    await measure(
      "withPeriodCandidates (merging the period's search)",
      sync(() => withPeriodCandidates({ vector, lexical }, { vector: vector.slice(10), lexical: lexical.slice(10) })),
      run,
    ),
    await measure(
      "after: every stage (readRecallQuery + rankRecallCandidates)",
      sync(() => rankRecallCandidates(readRecallQuery(text), { vector, lexical }, now, policy, options10)),
      run,
    ),
    await measure(
      "after, a query naming a month (the period's search merged in)",
      sync(() =>
        rankRecallCandidates(
          readRecallQuery(dated.text),
          withPeriodCandidates({ vector, lexical }, { vector: vector.slice(10), lexical: lexical.slice(10) }),
          now,
          policy,
          options10,
        ),
      ),
      run,
    ),
  ];
  const baseline = rows[0]!;
  console.log(`\nRecall's ranking stages, ${perList} candidates per signal, in process`);
  console.log(`| stage | calls | p50 µs | p99 µs | p50 vs baseline |`);
  console.log("|---|---:|---:|---:|---:|");
  for (const r of rows) {
    const us = (ms: number) => (ms * 1000).toFixed(1);
    console.log(
      `| ${r.name} | ${r.calls} | ${us(r.p50Ms)} | ${us(r.p99Ms)} | ${(r.p50Ms / baseline.p50Ms).toFixed(2)}× |`,
    );
  }
}
