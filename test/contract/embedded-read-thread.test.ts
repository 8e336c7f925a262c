import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CandidateSearch, RecallCandidates, Stores } from "../../src/domain/ports.js";
import type { MemoryType } from "../../src/domain/types.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { randomWords } from "../support/adversarial-texts.js";
import { dimensions, embedder, freshScope, memoryRecord } from "../support/memory-fixtures.js";

/**
 * The embedded store runs Recall's full-text match on a read thread with its
 * own connection (SqliteDatabase.readAll). These check it answers exactly
 * what the main connection answers, on the same file, for varied searches,
 * and that it sees every write acknowledged before the search.
 */
const dir = mkdtempSync(join(tmpdir(), "engram-read-thread-"));
const path = join(dir, "engram.db");
let threaded: Stores;
let direct: Stores;
const scope = freshScope();
const vocabulary = randomWords(7, 900).trim().split(" ");
const types: MemoryType[] = ["semantic", "episodic", "preference"];

beforeAll(async () => {
  threaded = openEmbeddedStores({ path, dimensions });
  direct = openEmbeddedStores({ path, dimensions, readThread: false });
  const records = Array.from({ length: 600 }, (_, i) => {
    const words = Array.from({ length: 6 + (i % 9) }, (_, k) => vocabulary[(i * 7 + k * k * 13) % vocabulary.length]!);
    return memoryRecord(scope, `${words.join(" ")} note ${i}`, {
      type: types[i % 3]!,
      subject: i % 5 === 0 ? "travel" : "",
      ...(i % 4 === 0 ? { speaker: i % 8 === 0 ? "Ana" : "Ben" } : {}),
      ...(i % 11 === 0 ? { supersededBy: "later" } : {}),
      metadata: { parity: i % 2 === 0 ? "even" : "odd" },
    });
  });
  await threaded.longTerm.insertMany(records);
});
afterAll(async () => {
  await threaded?.close();
  await direct?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Each list as ids with scores, in order: what ranking reads. */
const shape = (found: RecallCandidates) => ({
  vector: found.vector.map((h) => [h.record.id, h.score]),
  lexical: found.lexical.map((h) => [h.record.id, h.score]),
});

describe("embedded recall on the read thread", () => {
  it("answers the same candidates as the main connection, in the same order with the same scores", async () => {
    const searches: Omit<CandidateSearch, "embedding">[] = [];
    for (let q = 0; q < 30; q++) {
      const terms = Array.from({ length: 1 + (q % 6) }, (_, k) => vocabulary[(q * 31 + k * 17) % vocabulary.length]!);
      searches.push({
        terms,
        types: q % 4 === 1 ? ["episodic"] : [],
        includeSuperseded: q % 3 === 0,
        ...(q % 5 === 2 ? { speakers: ["Ana"] } : {}),
        ...(q % 7 === 3 ? { filter: { subject: "travel" } } : {}),
        ...(q % 7 === 4 ? { filter: { metadata: { parity: "odd" } } } : {}),
        limit: q % 2 === 0 ? 50 : 10,
      });
    }
    // The longest query the limits allow: hundreds of terms.
    searches.push({ terms: [...new Set(vocabulary)], types: [], includeSuperseded: false, limit: 50 });
    let lexicalHits = 0;
    for (const search of searches) {
      const [embedding] = await embedder.embed([search.terms.join(" ")]);
      const viaThread = shape(await threaded.longTerm.candidates(scope, { ...search, embedding: embedding! }));
      const viaMain = shape(await direct.longTerm.candidates(scope, { ...search, embedding: embedding! }));
      expect(viaThread).toEqual(viaMain);
      lexicalHits += viaThread.lexical.length;
    }
    // The comparison compared something.
    expect(lexicalHits).toBeGreaterThan(100);
  });

  it("answers the same hybrid search (the write path's conflict check) as the main connection", async () => {
    for (let q = 0; q < 10; q++) {
      const text = `${vocabulary[q * 5]} ${vocabulary[q * 5 + 1]} and ${vocabulary[q * 5 + 2]}`;
      const [embedding] = await embedder.embed([text]);
      const search = { embedding: embedding!, text, alpha: 0.5, types: [], includeSuperseded: false, limit: 10 };
      const ids = async (stores: Stores) =>
        (await stores.longTerm.search(scope, search)).map((h) => [h.record.id, h.relevance]);
      expect(await ids(threaded)).toEqual(await ids(direct));
    }
  });

  it("sees every write acknowledged before the search", async () => {
    const fresh = freshScope();
    for (let i = 0; i < 40; i++) {
      const word = `fresh${i}word`;
      await threaded.longTerm.insert(memoryRecord(fresh, `just written: ${word}`));
      const [embedding] = await embedder.embed([word]);
      const found = await threaded.longTerm.candidates(fresh, {
        embedding: embedding!,
        terms: [word],
        types: [],
        includeSuperseded: false,
        limit: 5,
      });
      expect(found.lexical.map((h) => h.record.content)).toEqual([`just written: ${word}`]);
    }
  });
});
