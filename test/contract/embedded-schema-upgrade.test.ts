import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import type { MemoryRecord, Scope } from "../../src/domain/types.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { migrate, schemaVersion } from "../../src/storage/embedded/sqlite-database.js";
import { dimensions, embedder, freshScope, memoryRecord } from "../support/memory-fixtures.js";

/**
 * Databases as earlier releases left them (the migrations up to their
 * version, rows written with the columns of that version) open on this one
 * with every memory, vector and index entry.
 */
const dir = mkdtempSync(join(tmpdir(), "engram-upgrade-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The schema version that added `speaker` to memories. */
const speakerVersion = 8;

/** A database at `version`, holding `records` written as that version's code wrote them (the vector in the row). */
function databaseAt(path: string, version: number, records: readonly MemoryRecord[]): void {
  const db = new DatabaseSync(path);
  try {
    migrate(db, version);
    expect(db.prepare("PRAGMA user_version").get()?.user_version).toBe(version);
    const speaker = version >= speakerVersion;
    const insert = db.prepare(
      `INSERT INTO memories (namespace, user_id, id, type, content, importance, metadata, subject, pinned, occurred_at,
         created_at, updated_at, last_accessed_at, access_count, superseded_by, valid_until, embedding${speaker ? ", speaker" : ""})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?${speaker ? ", ?" : ""})`,
    );
    for (const r of records) {
      insert.run(
        r.scope.namespace,
        r.scope.userId,
        r.id,
        r.type,
        r.content,
        r.importance,
        JSON.stringify(r.metadata),
        r.subject,
        r.pinned ? 1 : 0,
        r.occurredAt.getTime(),
        r.createdAt.getTime(),
        r.updatedAt.getTime(),
        null,
        r.accessCount,
        r.supersededBy ?? null,
        null,
        bytesOf(r.embedding),
        ...(speaker ? [r.speaker ?? ""] : []),
      );
    }
  } finally {
    db.close();
  }
}

function bytesOf(vector: Float32Array): Uint8Array {
  return new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** How many times `bytes` occur in the database's files (the database, its -wal and -shm). */
function copiesOnDisk(path: string, bytes: Uint8Array): number {
  const needle = Buffer.from(bytes);
  let copies = 0;
  for (const name of readdirSync(dir).filter((n) => n.startsWith(path.split("/").at(-1)!))) {
    const file = readFileSync(join(dir, name));
    for (let at = file.indexOf(needle); at !== -1; at = file.indexOf(needle, at + 1)) copies++;
  }
  return copies;
}

const search = (embedding: Float32Array, terms: string[]) => ({
  embedding,
  terms,
  types: [],
  includeSuperseded: true,
  limit: 10,
});

describe("embedded schema upgrades", () => {
  it("indexes the memories of a database made before lexical search when it opens it (migration)", async () => {
    const path = join(dir, "before-fts.db");
    const scope = freshScope();
    const [elsewhere] = await embedder.embed(["tax forms and invoices"]);
    const quokka = memoryRecord(scope, "visited the quokka sanctuary", { embedding: elsewhere! });
    databaseAt(path, 3, [quokka]);
    const reopened = openEmbeddedStores({ path, dimensions });
    try {
      const [query] = await embedder.embed(["quokka"]);
      const hits = await reopened.longTerm.search(scope, {
        embedding: query!,
        text: "quokka",
        alpha: 0,
        types: [],
        includeSuperseded: false,
        limit: 5,
      });
      expect(hits.map((h) => h.record.id)).toEqual([quokka.id]);
    } finally {
      await reopened.close();
    }
  });

  it("moves the vectors of the previous version's memories to memory_vectors: every memory, vector and word still found, and writes after it keep both tables together", async () => {
    const path = join(dir, "previous-version.db");
    const scope: Scope = freshScope();
    const other: Scope = freshScope();
    const said = memoryRecord(scope, "the user keeps bees on the roof", { speaker: "Ana" });
    const old = memoryRecord(scope, "the user lives in Porto", { supersededBy: "moved" });
    const moved = memoryRecord(scope, "the user moved to Lisbon", { id: "moved", type: "episodic" });
    const elsewhere = memoryRecord(other, "the other user plays the cello");
    const records = [said, old, moved, elsewhere];
    databaseAt(path, schemaVersion - 1, records);

    const stores = openEmbeddedStores({ path, dimensions });
    const raw = new DatabaseSync(path, { readOnly: true });
    try {
      expect(raw.prepare("PRAGMA user_version").get()?.user_version).toBe(schemaVersion);
      expect(raw.prepare("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
      expect(raw.prepare("PRAGMA foreign_key_check").all()).toEqual([]);
      const columns = raw.prepare("SELECT name FROM pragma_table_info('memories')").all();
      expect(columns.map((c) => c.name)).not.toContain("embedding");
      const vectorCount = () => Number(raw.prepare("SELECT COUNT(*) AS n FROM memory_vectors").get()?.n);
      expect(vectorCount()).toBe(4);

      // Every memory, whole, with its vector; the listing too.
      for (const r of records) {
        const got = await stores.longTerm.get(r.scope, r.id);
        expect(got?.content).toBe(r.content);
        expect(got?.speaker).toBe(r.speaker);
        expect(got?.supersededBy).toBe(r.supersededBy);
        expect(Array.from(got!.embedding)).toEqual(Array.from(r.embedding));
      }
      const listed = await stores.longTerm.list(scope, {}, undefined, 10);
      expect(listed.map((r) => r.id).sort()).toEqual([said.id, old.id, moved.id].sort());
      expect(listed.every((r) => r.embedding.length === dimensions)).toBe(true);

      // Each found by its own vector (best, score 1) and by its words; the speaker's name is indexed with them.
      for (const r of [said, old, moved]) {
        const found = await stores.longTerm.candidates(scope, search(r.embedding, []));
        expect(found.vector[0]?.record.id).toBe(r.id);
        expect(found.vector[0]?.score).toBeCloseTo(1, 5);
      }
      const bees = await stores.longTerm.candidates(scope, search(embedder.embedOne("bees"), ["ana", "bees"]));
      expect(bees.lexical.map((h) => h.record.id)).toEqual([said.id]);
      const current = await stores.longTerm.candidates(scope, {
        ...search(old.embedding, []),
        includeSuperseded: false,
      });
      expect(current.vector.map((h) => h.record.id)).not.toContain(old.id);
      const byAna = await stores.longTerm.candidates(scope, { ...search(said.embedding, []), speakers: ["Ana"] });
      expect(byAna.vector.map((h) => h.record.id)).toEqual([said.id]);

      // Writes after the upgrade: an insert, a content change with its new vector, deletes.
      const added = memoryRecord(scope, "the user grows tomatoes");
      await stores.longTerm.insert(added);
      expect(vectorCount()).toBe(5);
      const nearAdded = await stores.longTerm.candidates(scope, search(added.embedding, []));
      expect(nearAdded.vector[0]?.record.id).toBe(added.id);
      const rewritten = {
        ...moved,
        content: "the user moved to Faro",
        embedding: embedder.embedOne("the user moved to Faro"),
        updatedAt: new Date(),
      };
      expect(await stores.longTerm.update(rewritten)).toBe(true);
      expect(Array.from((await stores.longTerm.get(scope, moved.id))!.embedding)).toEqual(
        Array.from(rewritten.embedding),
      );
      const faro = await stores.longTerm.candidates(scope, search(rewritten.embedding, ["faro"]));
      expect(faro.vector[0]?.record.id).toBe(moved.id);
      expect(faro.lexical.map((h) => h.record.id)).toEqual([moved.id]);
      expect(
        (await stores.longTerm.candidates(scope, search(moved.embedding, ["lisbon"]))).lexical.map((h) => h.record.id),
      ).toEqual([]);

      expect(await stores.longTerm.delete(scope, said.id)).toBe(true);
      expect(vectorCount()).toBe(4);
      expect((await stores.longTerm.candidates(scope, search(said.embedding, ["bees"]))).lexical).toEqual([]);
      expect(await stores.longTerm.deleteUser(scope)).toBe(3);
      expect(vectorCount()).toBe(1);
      expect((await stores.longTerm.get(other, elsewhere.id))?.embedding.length).toBe(dimensions);

      // Erased: the vectors of the user's memories are in none of the files, neither the
      // copies the upgrade made nor the rows of the table it replaced.
      for (const r of [said, old, moved, added, rewritten]) expect(copiesOnDisk(path, bytesOf(r.embedding))).toBe(0);
      expect(copiesOnDisk(path, bytesOf(elsewhere.embedding))).toBeGreaterThan(0);
    } finally {
      raw.close();
      await stores.close();
    }
  });
});
