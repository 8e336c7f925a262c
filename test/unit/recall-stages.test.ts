import { describe, expect, it } from "vitest";
import { readRecallQuery } from "../../src/domain/recall-query.js";
import { rankRecallCandidates, type RecallRankingPolicy } from "../../src/domain/recall-ranking.js";
import { liftReplies, retoldSince } from "../../src/domain/reply-lift.js";
import { reorderByRerank, rerankDocument } from "../../src/domain/rerank.js";
import { boostNamedSpeakers } from "../../src/domain/speaker-match.js";
import { unknownSource, withoutEmbedding, type Memory, type MemoryRecord } from "../../src/domain/types.js";
import { ftsTermsQuery } from "../../src/storage/embedded/fts-query.js";
import { memoryRecord } from "../support/memory-fixtures.js";

const now = new Date("2026-06-01T12:00:00Z");
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000);

const scope = { namespace: "n", userId: "u" };
/** An episode named by its id, as told `now`; where it came from unknown. */
const memory = (id: string, overrides: Partial<Memory> = {}): Memory =>
  withoutEmbedding(
    memoryRecord(scope, id, {
      id,
      type: "episodic",
      occurredAt: now,
      createdAt: now,
      updatedAt: now,
      source: unknownSource,
      ...overrides,
    }),
  );
const record = (m: Memory): MemoryRecord => ({ ...m, embedding: new Float32Array(0) });
const ids = (list: readonly { memory: Memory }[]) => list.map((c) => c.memory.id);

describe("readRecallQuery", () => {
  it("keeps the words worth matching, without stop words or the words of questions", () => {
    expect(readRecallQuery("What did Caroline study in May 2023?").terms).toEqual(["caroline", "study", "may", "2023"]);
  });

  it("drops a possessive's s", () => {
    expect(readRecallQuery("Who are Caroline's friends?").terms).toEqual(["caroline", "friends"]);
  });

  it("reads the period the query names", () => {
    expect(readRecallQuery("What did Caroline study in May 2023?").period?.from).toEqual(new Date("2023-05-01T00:00Z"));
    expect(readRecallQuery("What did Caroline study?").period).toBeUndefined();
  });

  it("reads capitalised words as names that may be speakers, possessives trimmed", () => {
    expect(readRecallQuery("When did Melanie's kids visit Caroline?").names).toEqual(["Melanie", "Caroline"]);
  });

  it("says whether the query is about recency", () => {
    expect(readRecallQuery("Which company am I working for now?").aboutRecency).toBe(true);
    expect(readRecallQuery("What did I do most recently?").aboutRecency).toBe(true);
    expect(readRecallQuery("When did Caroline go to the support group?").aboutRecency).toBe(false);
  });
});

describe("boostNamedSpeakers", () => {
  const candidates = [
    { memory: memory("mel", { speaker: "Melanie" }), relevance: 0.6 },
    { memory: memory("caro", { speaker: "Caroline Diaz" }), relevance: 0.5 },
    { memory: memory("nobody"), relevance: 0.4 },
  ];

  it("moves the named speaker's memories towards 1, by first name too", () => {
    const boosted = boostNamedSpeakers(candidates, ["Caroline"], 0.5);
    expect(boosted.map((c) => c.relevance)).toEqual([0.6, 0.75, 0.4]);
  });

  it("changes nothing when the query names no speaker", () => {
    expect(boostNamedSpeakers(candidates, [], 0.5)).toEqual(candidates);
    expect(boostNamedSpeakers(candidates, ["Lisbon"], 0.5)).toEqual(candidates);
  });
});

describe("liftReplies", () => {
  const session = { ...unknownSource, kind: "session" as const, sessionId: "s1" };
  const question = { memory: memory("question", { source: session, occurredAt: minutesAgo(3) }), relevance: 0.8 };
  const reply = { memory: memory("reply", { source: session, occurredAt: minutesAgo(2) }), relevance: 0.2 };

  it("lifts the turn said right after a relevant one, within 0..1", () => {
    const lifted = liftReplies([reply, question], 0.5, 10 * 60_000);
    expect(lifted.find((c) => c.memory.id === "reply")!.relevance).toBeCloseTo(0.2 + 0.5 * 0.8 * 0.8);
    expect(lifted.find((c) => c.memory.id === "question")!.relevance).toBe(0.8);
  });

  it("does not lift across sessions or beyond the window", () => {
    const elsewhere = { ...reply, memory: { ...reply.memory, source: { ...session, sessionId: "s2" } } };
    expect(liftReplies([question, elsewhere], 0.5, 10 * 60_000)[1]!.relevance).toBe(0.2);
    expect(liftReplies([question, reply], 0.5, 30_000)[1]!.relevance).toBe(0.2);
  });

  const remembered = { ...unknownSource, kind: "remember" as const };
  const storedAt = (minutes: number) => ({ createdAt: minutesAgo(minutes), updatedAt: minutesAgo(minutes) });
  const turn = (id: string, said: number, stored: number, relevance: number) => ({
    memory: memory(id, { source: remembered, occurredAt: minutesAgo(said), ...storedAt(stored) }),
    relevance,
  });

  it("lifts a reply stored as it was said, turn by turn", () => {
    const lifted = liftReplies([turn("question", 3, 3, 0.8), turn("reply", 2, 2, 0.2)], 0.5, 10 * 60_000);
    expect(lifted[1]!.relevance).toBeCloseTo(0.2 + 0.5 * 0.8 * 0.8);
  });

  it("neither lifts nor is lifted by a memory told again since it was stored", () => {
    // "Would you like me to make a note of that?" first said an hour ago, told again since: the retellings
    // merged into it and moved its occurrence to the newest, not its creation.
    const earlier = turn("earlier", 30, 30, 0.1);
    const chatter = turn("chatter", 2, 60, 0.5);
    const toChatter = liftReplies([earlier, turn("question", 3, 3, 0.8), chatter], 0.5, 10 * 60_000);
    expect(toChatter[2]!.relevance).toBe(0.5);
    const fromChatter = liftReplies([earlier, chatter, turn("next", 1, 1, 0.2)], 0.5, 10 * 60_000);
    expect(fromChatter[2]!.relevance).toBe(0.2);
  });

  it("finds a retold memory by what was stored after it though said before it", () => {
    expect(
      retoldSince([turn("a", 30, 60, 0).memory, turn("b", 20, 20, 0).memory, turn("c", 10, 60, 0).memory]),
    ).toEqual([false, false, true]);
  });

  it("neither lifts nor is lifted by a memory that stands for several statements", () => {
    const session = { ...unknownSource, kind: "session" as const, sessionId: "s1" };
    const fromTwo = { ...session, messageIds: ["m1", "m2"] };
    const single = (id: string, said: number, relevance: number, source = { ...session, messageIds: [id] }) => ({
      memory: memory(id, { source, occurredAt: minutesAgo(said) }),
      relevance,
    });
    const version = {
      content: "I take my coffee with two sugars",
      importance: 0.5,
      subject: "",
      metadata: {},
      validFrom: minutesAgo(90),
      validUntil: minutesAgo(3),
      replacedAt: now,
    };
    const rewritten = {
      ...single("rewritten", 2, 0.2),
      memory: { ...single("rewritten", 2, 0.2).memory, history: [version] },
    };
    expect(liftReplies([single("q", 3, 0.8), single("merged", 2, 0.2, fromTwo)], 0.5, 600_000)[1]!.relevance).toBe(0.2);
    expect(liftReplies([single("merged", 3, 0.8, fromTwo), single("r", 2, 0.2)], 0.5, 600_000)[1]!.relevance).toBe(0.2);
    expect(liftReplies([single("q", 3, 0.8), rewritten], 0.5, 600_000)[1]!.relevance).toBe(0.2);
  });
});

describe("rankRecallCandidates", () => {
  const policy: RecallRankingPolicy = {
    episodicHalfLifeHours: 720,
    hybridAlpha: 0.5,
    speakerBoost: 0.25,
    periodDiscount: 0.25,
    replyShare: 0.5,
    replyWindowMs: 10 * 60_000,
  };

  it("fuses both signals: a memory found by both beats one found by either", () => {
    const both = record(memory("both"));
    const vectorOnly = record(memory("vector-only"));
    const lexicalOnly = record(memory("lexical-only"));
    const ranked = rankRecallCandidates(
      readRecallQuery("garden party"),
      {
        vector: [
          { record: vectorOnly, score: 0.7 },
          { record: both, score: 0.6 },
          { record: lexicalOnly, score: 0.1 },
        ],
        lexical: [
          { record: lexicalOnly, score: 9 },
          { record: both, score: 8 },
          { record: vectorOnly, score: 1 },
        ],
      },
      now,
      policy,
      { topK: 10, minScore: 0 },
    );
    expect(ids(ranked)[0]).toBe("both");
    expect(ids(ranked)).toHaveLength(3);
  });

  it("prefers the named speaker's memory of two equally found", () => {
    const mel = record(memory("mel", { speaker: "Melanie" }));
    const caro = record(memory("caro", { speaker: "Caroline" }));
    const candidates = {
      vector: [
        { record: mel, score: 0.5 },
        { record: caro, score: 0.5 },
      ],
      lexical: [],
    };
    const query = readRecallQuery("What did Caroline paint?");
    expect(ids(rankRecallCandidates(query, candidates, now, policy, { topK: 10, minScore: 0 }))).toEqual([
      "caro",
      "mel",
    ]);
  });
});

describe("ftsTermsQuery", () => {
  it("quotes each term and joins them by OR; no terms, no query", () => {
    expect(ftsTermsQuery(["caroline", "2023"])).toBe('"caroline" OR "2023"');
    expect(ftsTermsQuery([])).toBeUndefined();
  });
});

describe("reorderByRerank", () => {
  const results = ["a", "b", "c", "d"].map((id, i) => ({
    memory: memory(id),
    relevance: 1 - i / 10,
    score: 1 - i / 10,
  }));

  it("reorders the reranked head by its scores and leaves the tail in place", () => {
    expect(ids(reorderByRerank(results, [0.1, 0.9, 0.5]))).toEqual(["b", "c", "a", "d"]);
  });

  it("keeps the ranking's order between equal scores", () => {
    expect(ids(reorderByRerank(results, [0.5, 0.5, 0.5, 0.5]))).toEqual(["a", "b", "c", "d"]);
  });

  it("reads who said it with what was said", () => {
    expect(rerankDocument({ ...results[0]!, memory: memory("I paint", { speaker: "Caroline" }) })).toBe(
      "Caroline: I paint",
    );
  });
});
