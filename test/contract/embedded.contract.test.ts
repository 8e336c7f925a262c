import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import type { MemoryType } from "../../src/domain/types.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { dimensions, embedder, freshScope, memoryRecord } from "../support/memory-fixtures.js";
import { describeStorageContract } from "./storage-contract.js";
import { randomWords } from "../support/adversarial-texts.js";

const dir = mkdtempSync(join(tmpdir(), "engram-contract-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStorageContract("embedded (SQLite file)", {
  tiers: new Set(["sessions", "working", "longTerm"]),
  open: async () => openEmbeddedStores({ path: join(dir, "engram.db"), dimensions }),
});

describe("embedded store specifics", () => {
  it("stores a large batch whole, written in several short transactions (insertMany yields between them)", async () => {
    const stores = openEmbeddedStores({ path: join(dir, "batch.db"), dimensions });
    try {
      const scope = freshScope();
      const records = Array.from({ length: 300 }, (_, i) =>
        memoryRecord(scope, `${randomWords(i + 1, 8 * 1024 - 16)} n${i}`),
      );
      let turns = 0;
      const counting = setInterval(() => turns++, 0);
      const { failed } = await stores.longTerm.insertMany(records);
      clearInterval(counting);
      expect(failed).toEqual([]);
      expect(await stores.longTerm.count(scope)).toBe(300);
      const [query] = await embedder.embed(["n299"]);
      const found = await stores.longTerm.candidates(scope, {
        embedding: query!,
        terms: ["n299"],
        types: [],
        includeSuperseded: false,
        limit: 5,
      });
      expect(found.lexical.map((h) => h.record.id)).toEqual([records[299]!.id]);
      // Other work ran while the batch was written.
      expect(turns).toBeGreaterThan(0);
    } finally {
      await stores.close();
    }
  });

  it("scans a large user's cached vectors exactly (SIMD): the brute-force nearest, after appends grew the cached matrix and an update overwrote a row", async () => {
    const stores = openEmbeddedStores({ path: join(dir, "simd-scan.db"), dimensions });
    try {
      const scope = freshScope();
      const records = Array.from({ length: 700 }, (_, i) =>
        memoryRecord(scope, `note ${i} ${randomWords(i + 1, 80)}`, { type: i % 3 === 0 ? "episodic" : "semantic" }),
      );
      const held = records.slice(0, 400);
      expect((await stores.longTerm.insertMany(held)).failed).toEqual([]);
      const [query] = await embedder.embed(["note 5 about the garden"]);
      const nearest = async (types: MemoryType[]) =>
        (
          await stores.longTerm.candidates(scope, {
            embedding: query!,
            terms: [],
            types,
            includeSuperseded: false,
            limit: 10,
          })
        ).vector.map((h) => ({ id: h.record.id, score: h.score }));
      // Exact: every held vector scored in double precision, the best 10 with a positive score.
      const bruteForce = (types: MemoryType[]) =>
        held
          .filter((r) => types.length === 0 || types.includes(r.type))
          .map((r) => ({ id: r.id, score: r.embedding.reduce((sum, x, j) => sum + x * query![j]!, 0) }))
          .filter((s) => s.score > 0)
          .sort((a, b) => b.score - a.score)
          .slice(0, 10);
      const expectExact = (found: { id: string; score: number }[], expected: { id: string; score: number }[]) => {
        expect(found.map((f) => f.id)).toEqual(expected.map((e) => e.id));
        found.forEach((f, i) => expect(Math.abs(f.score - expected[i]!.score)).toBeLessThan(1e-5));
      };
      expectExact(await nearest([]), bruteForce([])); // caches the user's 400 vectors
      for (const record of records.slice(400)) {
        await stores.longTerm.insert(record); // appended to the cached matrix, which grows
        held.push(record);
      }
      const moved = { ...held[17]!, embedding: query!, updatedAt: new Date() };
      expect(await stores.longTerm.update(moved)).toBe(true); // overwrites its row in place
      held[17] = moved;
      expectExact(await nearest([]), bruteForce([]));
      expect((await nearest([]))[0]!.id).toBe(moved.id);
      expectExact(await nearest(["episodic"]), bruteForce(["episodic"]));
    } finally {
      await stores.close();
    }
  });

  it("sees writes made through another connection to the same file (the evict CronJob)", async () => {
    const path = join(dir, "shared.db");
    const server = openEmbeddedStores({ path, dimensions });
    const cron = openEmbeddedStores({ path, dimensions });
    try {
      const scope = freshScope();
      const doomed = memoryRecord(scope, "a note about gardening");
      await server.longTerm.insert(doomed);
      const [query] = await embedder.embed(["gardening"]);
      const search = {
        embedding: query!,
        text: "gardening",
        alpha: 0.5,
        types: [],
        includeSuperseded: false,
        limit: 5,
      };
      expect(await server.longTerm.search(scope, search)).toHaveLength(1); // warms the vector cache
      await cron.longTerm.deleteMany(scope, [doomed.id]);
      await cron.longTerm.insert(memoryRecord(scope, "a note about gardening tools"));
      const hits = await server.longTerm.search(scope, search);
      expect(hits.map((h) => h.record.content)).toEqual(["a note about gardening tools"]);
    } finally {
      await server.close();
      await cron.close();
    }
  });

  it("leaves out of the match the words in half the memories or more, which bm25() weighs at 1e-6: same order, same scores", async () => {
    const path = join(dir, "common-words.db");
    const stores = openEmbeddedStores({ path, dimensions });
    const raw = new DatabaseSync(path, { readOnly: true });
    try {
      const scope = freshScope();
      const [likes, booked, runs, drinks, night] = [
        "the user likes jazz records",
        "the user booked a flight to Lisbon",
        "the user runs every morning",
        "the user drinks dark roast",
        "jazz at night",
      ].map((content) => memoryRecord(scope, content));
      await stores.longTerm.insertMany([likes!, booked!, runs!, drinks!, night!]);
      const lexical = async (terms: string[]) => {
        const found = await stores.longTerm.candidates(scope, {
          embedding: embedder.embedOne(terms.join(" ")),
          terms,
          types: [],
          includeSuperseded: false,
          limit: 10,
        });
        return found.lexical.map((h) => ({ id: h.record.id, score: h.score }));
      };
      // "user" is in 4 of the 5 rows: only the memories with "jazz" are candidates.
      const pruned = await lexical(["user", "jazz"]);
      expect(pruned.map((h) => h.id)).toEqual([night!.id, likes!.id]);
      // The match with every word ranks them alike, to within bm25()'s 1e-6 floor; the rest score about 0.
      const whole = raw
        .prepare(
          `SELECT k.id AS id, -bm25(memories_fts) AS score FROM memories_fts
           JOIN memory_search_keys k ON k.key = memories_fts.rowid
           WHERE memories_fts MATCH '"user" OR "jazz"' ORDER BY bm25(memories_fts)`,
        )
        .all() as { id: string; score: number }[];
      expect(whole.map((h) => h.id).slice(0, 2)).toEqual(pruned.map((h) => h.id));
      whole.slice(0, 2).forEach((h, i) => expect(h.score).toBeCloseTo(pruned[i]!.score, 5));
      expect(whole.slice(2).every((h) => h.score < 1e-5)).toBe(true);
      // When every word is that common, the query is kept whole.
      expect((await lexical(["user", "the"])).map((h) => h.id).sort()).toEqual(
        [likes!.id, booked!.id, runs!.id, drinks!.id].sort(),
      );
      expect((await lexical(["user"])).length).toBe(4);
      // The counts follow writes: with four more memories, "user" is in 4 of 9 and weighs again.
      await stores.longTerm.insertMany(["a", "b", "c", "d"].map((x) => memoryRecord(scope, `plain note ${x}`)));
      expect((await lexical(["user", "jazz"])).map((h) => h.id).sort()).toEqual(
        [likes!.id, booked!.id, runs!.id, drinks!.id, night!.id].sort(),
      );
    } finally {
      raw.close();
      await stores.close();
    }
  });
});
