import { setImmediate as nextTurn } from "node:timers/promises";
import type { EvictionBand, EvictionCandidate } from "../../domain/forgetting.js";
import type { MemoryRecord, Scope } from "../../domain/types.js";
import type {
  BulkInsertResult,
  CandidateSearch,
  ListCursor,
  LongTermStore,
  MemoryFilter,
  MemoryHit,
  MemorySearch,
  RecallCandidates,
} from "../../domain/ports.js";
import { fuseRelativeScores, type ScoredId } from "../../domain/hybrid-fusion.js";
import { stageTimings } from "../../observability/stage-timings.js";
import { ftsTerms } from "./fts-query.js";
import { IndexTermCounts, lexicalCandidates } from "./sqlite-lexical-search.js";
import { filterSql } from "./sqlite-memory-filter.js";
import type { SqliteDatabase } from "./sqlite-database.js";
import { UserVectorCache, type UserVectors } from "./user-vector-cache.js";
import {
  accessColumns,
  candidateColumns,
  columnValues,
  insertSql,
  insertVectorSql,
  recordSelect,
  toRecord,
  updateVectorSql,
  updatedColumns,
  valueColumns,
  vectorBytes,
  vectorRow,
} from "./sqlite-memory-rows.js";
import { readUserVectors } from "./sqlite-user-vectors.js";
import { TopK } from "./top-k.js";
import { dotProducts } from "./vector-matrix.js";

/**
 * Long-term memory in the embedded database. Search is exact: it scores every
 * one of the user's vectors (held in a bounded in-memory cache), asks the
 * FTS5 index for the best BM25 matches, fuses the two, then loads the best
 * rows. That is fast enough for the tens of thousands of memories
 * one user gathers; Weaviate takes over beyond a single machine.
 */
export class SqliteLongTermStore implements LongTermStore {
  private readonly vectors: UserVectorCache;
  private readonly termCounts: IndexTermCounts;

  constructor(
    private readonly database: SqliteDatabase,
    readonly dimensions: number,
    options: { cachedVectors?: number } = {},
  ) {
    this.vectors = new UserVectorCache(options.cachedVectors ?? 262_144);
    this.termCounts = new IndexTermCounts(database);
  }

  async embedderIdentity(): Promise<string | undefined> {
    const row = this.database.get("SELECT value FROM engram_meta WHERE key = 'embedder'");
    return row === undefined ? undefined : String(row.value);
  }

  async recordEmbedderIdentity(identity: string): Promise<void> {
    this.database.run(
      "INSERT INTO engram_meta (key, value) VALUES ('embedder', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      identity,
    );
  }

  async insert(record: MemoryRecord): Promise<void> {
    this.database.transaction(() => this.rowWriter()(record));
    this.vectors.upsert(userKey(record.scope), vectorRow(record), this.dimensions);
  }

  async count(scope: Scope): Promise<number> {
    return Number(
      this.database.get(
        "SELECT COUNT(*) AS n FROM memories WHERE namespace = ? AND user_id = ?",
        scope.namespace,
        scope.userId,
      )?.n ?? 0,
    );
  }

  /** Writes a memory's row and its vector; called inside a transaction, so that neither is ever written alone. */
  private rowWriter(): (record: MemoryRecord) => void {
    const row = this.database.db.prepare(insertSql);
    const vector = this.database.db.prepare(insertVectorSql);
    return (record) => {
      const { namespace, userId } = record.scope;
      row.run(namespace, userId, record.id, ...columnValues(record));
      vector.run(namespace, userId, record.id, vectorBytes(record));
    };
  }

  async update(record: MemoryRecord): Promise<boolean> {
    const { namespace, userId } = record.scope;
    const changed = this.database.transaction(() => {
      const rows = this.database.db
        .prepare(
          `UPDATE memories SET ${updatedColumns.map((c) => `${c} = ?`).join(", ")} WHERE namespace = ? AND user_id = ? AND id = ?`,
        )
        .run(
          ...columnValues(record).filter((_, i) => !accessColumns.has(valueColumns[i]!)),
          namespace,
          userId,
          record.id,
        );
      if (Number(rows.changes) === 0) return false;
      this.database.db.prepare(updateVectorSql).run(vectorBytes(record), namespace, userId, record.id);
      return true;
    });
    if (changed) this.vectors.upsert(userKey(record.scope), vectorRow(record), this.dimensions);
    return changed;
  }

  /**
   * The records in a few transactions, each holding the event loop for at
   * most about `insertSliceMs` (with a yield between them), not one per
   * record (an fsync each) nor one for the batch: a thousand 8 KiB memories
   * with their full-text index entries are seconds of synchronous work,
   * which froze every tenant (#21). A batch is therefore visible to readers
   * part by part while it is written, and it is acknowledged only once all
   * of it is committed. A failure in the first transaction fails the call
   * (nothing was stored); a failure after some were committed reports the
   * records not stored, as a backend refusing objects does.
   */
  async insertMany(records: readonly MemoryRecord[]): Promise<BulkInsertResult> {
    let start = 0;
    while (start < records.length) {
      if (start > 0) await nextTurn();
      let end = start;
      try {
        this.database.transaction(() => {
          const write = this.rowWriter();
          const began = performance.now();
          do {
            write(records[end]!);
            end++;
          } while (end < records.length && performance.now() - began < insertSliceMs);
        });
      } catch (error) {
        if (start === 0 || !(error instanceof Error)) throw error;
        return { failed: records.slice(start).map((r) => ({ id: r.id, error: error.message })) };
      }
      for (let i = start; i < end; i++) {
        const record = records[i]!;
        this.vectors.upsert(userKey(record.scope), vectorRow(record), this.dimensions);
      }
      start = end;
    }
    return { failed: [] };
  }

  async get(scope: Scope, id: string): Promise<MemoryRecord | undefined> {
    const row = this.database.get(
      recordSelect("m.namespace = ? AND m.user_id = ? AND m.id = ?"),
      scope.namespace,
      scope.userId,
      id,
    );
    return row ? toRecord(row) : undefined;
  }

  /**
   * Exact vector search over the user's cached vectors and, unless `alpha`
   * is 1, BM25 over the FTS5 index, fused by relative score (the formula
   * Weaviate applies, so relevances mean the same on both backends).
   */
  async search(scope: Scope, search: MemorySearch): Promise<MemoryHit[]> {
    // BM25 alone (alpha 0) takes no vector candidates, as Weaviate's hybrid does.
    // The full-text match runs on the read thread while this one scans the vectors.
    const lexicalAnswer =
      search.alpha >= 1
        ? Promise.resolve([])
        : lexicalCandidates(this.database, this.termCounts, scope, search, ftsTerms(search.text));
    // Awaited below: a failure must not count as unhandled while the vectors are scanned.
    lexicalAnswer.catch(() => {});
    const vector =
      search.alpha > 0 ? this.vectorCandidates(scope, search, search.embedding).filter((v) => v.score > 0) : [];
    const scored =
      search.alpha >= 1 ? vector : fuseRelativeScores(vector, await lexicalAnswer, search.alpha).slice(0, search.limit);
    if (scored.length === 0) return [];
    const where = `m.namespace = ? AND m.user_id = ? AND m.id IN (${scored.map(() => "?").join(", ")})`;
    const rows = this.database.all(
      search.withEmbeddings === false ? `SELECT m.* FROM memories m WHERE ${where}` : recordSelect(where),
      scope.namespace,
      scope.userId,
      ...scored.map((s) => s.id),
    );
    const byId = new Map(rows.map((row) => [String(row.id), toRecord(row)]));
    return scored.flatMap((s) => {
      const record = byId.get(s.id);
      return record ? [{ record, relevance: s.score }] : [];
    });
  }

  /**
   * Recall's candidates: the same two searches as `search`, returned apart
   * with their raw scores for the domain to fuse (domain/recall-ranking.ts).
   */
  async candidates(scope: Scope, search: CandidateSearch): Promise<RecallCandidates> {
    // The full-text match runs on the read thread while this one scans the vectors.
    const sent = stageTimings.begin();
    // It needs no vector: it starts while the model may still be computing the query's.
    const lexicalAnswer = lexicalCandidates(this.database, this.termCounts, scope, search, search.terms);
    // Its rows are read as soon as it answers, while this thread would otherwise wait for the model:
    // only the vector candidates it did not find are left to read after the scan (the chain's last step).
    const lexicalRows = lexicalAnswer.then((lexical) => this.candidateRows(scope, lexical));
    lexicalRows.catch(() => {});
    const embedding = await search.embedding;
    let started = stageTimings.begin();
    const vector = this.vectorCandidates(scope, search, embedding).filter((v) => v.score > 0);
    stageTimings.end("vector search", started);
    const lexical = await lexicalAnswer;
    stageTimings.end("lexical search", sent);
    const byId = await lexicalRows;
    started = stageTimings.begin();
    const unread = this.candidateRows(
      scope,
      vector.filter((v) => !byId.has(v.id)),
    );
    for (const [id, record] of unread) byId.set(id, record);
    const hits = (list: readonly ScoredId[]) =>
      list.flatMap((s) => {
        const record = byId.get(s.id);
        return record ? [{ record, score: s.score }] : [];
      });
    const found = { vector: hits(vector), lexical: hits(lexical) };
    stageTimings.end("row load", started);
    return found;
  }

  /** The rows of `candidates` by id, without their vectors, which candidates do not carry. */
  private candidateRows(scope: Scope, candidates: readonly ScoredId[]): Map<string, MemoryRecord> {
    if (candidates.length === 0) return new Map();
    const rows = this.database.all(
      `SELECT ${candidateColumns} FROM memories WHERE namespace = ? AND user_id = ? AND id IN (${candidates.map(() => "?").join(", ")})`,
      scope.namespace,
      scope.userId,
      ...candidates.map((c) => c.id),
    );
    return new Map(rows.map((row) => [String(row.id), toRecord(row)]));
  }

  /** The user's `limit` nearest vectors by cosine (vectors are unit length), best first. */
  private vectorCandidates(scope: Scope, search: CandidateSearch | MemorySearch, query: Float32Array): ScoredId[] {
    const user = this.userVectors(scope);
    const wanted = new Set(search.types);
    const allowed = this.matchingIds(scope, search.filter);
    const speakers = new Set(search.speakers ?? []);
    const best = new TopK(search.limit);
    // Every row's score (SIMD where it can, vector-matrix.ts), then the filters over them.
    const scores = dotProducts(user.matrix, user.ids.length, this.dimensions, query);
    for (let i = 0; i < user.ids.length; i++) {
      if (wanted.size > 0 && !wanted.has(user.types[i]!)) continue;
      if (!search.includeSuperseded && user.superseded[i]) continue;
      if (allowed && !allowed.has(user.ids[i]!)) continue;
      if (speakers.size > 0 && !speakers.has(user.speakers[i]!)) continue;
      best.offer(i, scores[i]!);
    }
    return best.sorted().map(({ index, score }) => ({ id: user.ids[index]!, score }));
  }

  /** Ids of the user's memories that pass the filter, or undefined when it filters nothing. */
  private matchingIds(scope: Scope, filter: MemoryFilter | undefined): Set<string> | undefined {
    const { where, params } = filterSql(filter);
    if (where === "") return undefined;
    const rows = this.database.all(
      `SELECT id FROM memories WHERE namespace = ? AND user_id = ?${where}`,
      scope.namespace,
      scope.userId,
      ...params,
    );
    return new Set(rows.map((r) => String(r.id)));
  }

  async list(
    scope: Scope,
    filter: MemoryFilter,
    after: ListCursor | undefined,
    limit: number,
  ): Promise<MemoryRecord[]> {
    const { where, params } = filterSql(filter, "m");
    const rows = this.database.all(
      `${recordSelect(`m.namespace = ? AND m.user_id = ?${where}`)}
       ${after ? "AND (m.created_at, m.id) > (?, ?)" : ""} ORDER BY m.created_at, m.id LIMIT ?`,
      scope.namespace,
      scope.userId,
      ...params,
      ...(after ? [after.createdAt.getTime(), after.id] : []),
      limit,
    );
    return rows.map(toRecord);
  }

  /** The user's vectors, from the cache or read once from the database. */
  private userVectors(scope: Scope): UserVectors {
    this.vectors.checkDataVersion(Number(this.database.get("PRAGMA data_version")?.data_version));
    const key = userKey(scope);
    const cached = this.vectors.get(key);
    if (cached) return cached;
    const vectors = readUserVectors(this.database, scope, this.dimensions);
    this.vectors.set(key, vectors);
    return vectors;
  }

  async recordAccess(scope: Scope, counts: ReadonlyMap<string, number>, at: Date): Promise<void> {
    if (counts.size === 0) return;
    this.database.transaction(() => {
      const update = this.database.db.prepare(
        `UPDATE memories SET access_count = access_count + ?, last_accessed_at = MAX(COALESCE(last_accessed_at, 0), ?)
         WHERE namespace = ? AND user_id = ? AND id = ?`,
      );
      for (const [id, count] of counts) update.run(count, at.getTime(), scope.namespace, scope.userId, id);
    });
  }

  async delete(scope: Scope, id: string): Promise<boolean> {
    this.vectors.invalidate(userKey(scope));
    const deleted =
      this.database.run(
        "DELETE FROM memories WHERE namespace = ? AND user_id = ? AND id = ?",
        scope.namespace,
        scope.userId,
        id,
      ) > 0;
    // ForgetMemory: gone from the files too, not only from queries.
    if (deleted) this.database.erase();
    return deleted;
  }

  async deleteUser(scope: Scope): Promise<number> {
    this.vectors.invalidate(userKey(scope));
    const deleted = this.database.run(
      "DELETE FROM memories WHERE namespace = ? AND user_id = ?",
      scope.namespace,
      scope.userId,
    );
    this.database.erase();
    return deleted;
  }

  async *users(namespace: string | undefined): AsyncIterable<Scope> {
    // Keyset pagination: never holds more than one page of users.
    let after: [string, string] = [namespace ?? "", ""];
    for (;;) {
      const rows = this.database.all(
        `SELECT DISTINCT namespace, user_id FROM memories
         WHERE (namespace, user_id) > (?, ?) ${namespace === undefined ? "" : "AND namespace = ?"}
         ORDER BY namespace, user_id LIMIT 500`,
        ...after,
        ...(namespace === undefined ? [] : [namespace]),
      );
      for (const row of rows) yield { namespace: String(row.namespace), userId: String(row.user_id) };
      const last = rows.at(-1);
      if (!last || rows.length < 500) return;
      after = [String(last.namespace), String(last.user_id)];
    }
  }

  async *evictionCandidates(scope: Scope, batchSize: number): AsyncIterable<EvictionCandidate[]> {
    let after = "";
    for (;;) {
      const rows = this.database.all(
        `SELECT id, importance, pinned, created_at, last_accessed_at, access_count FROM memories
         WHERE namespace = ? AND user_id = ? AND id > ? ORDER BY id LIMIT ?`,
        scope.namespace,
        scope.userId,
        after,
        batchSize,
      );
      if (rows.length === 0) return;
      yield rows.map((row) => ({
        id: String(row.id),
        importance: Number(row.importance),
        pinned: Number(row.pinned) === 1,
        createdAt: new Date(Number(row.created_at)),
        lastAccessedAt: row.last_accessed_at === null ? undefined : new Date(Number(row.last_accessed_at)),
        accessCount: Number(row.access_count),
      }));
      after = String(rows.at(-1)!.id);
      if (rows.length < batchSize) return;
    }
  }

  async deleteBand(scope: Scope, band: EvictionBand): Promise<{ deleted: number; ids: string[] }> {
    this.vectors.invalidate(userKey(scope));
    const ids = this.database
      .all(
        `DELETE FROM memories
         WHERE namespace = ? AND user_id = ? AND pinned = 0 AND access_count = 0
           AND importance >= ? AND importance < ? AND COALESCE(last_accessed_at, created_at) < ? AND created_at < ?
         RETURNING id`,
        scope.namespace,
        scope.userId,
        band.importanceFrom,
        band.importanceBelow,
        band.lastUsedBefore.getTime(),
        band.createdBefore.getTime(),
      )
      .map((row) => String(row.id));
    return { deleted: ids.length, ids };
  }

  async deleteMany(scope: Scope, ids: readonly string[]): Promise<number> {
    this.vectors.invalidate(userKey(scope));
    let deleted = 0;
    // SQLite caps bound parameters; delete in chunks, each its own transaction.
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      deleted += this.database.run(
        `DELETE FROM memories WHERE namespace = ? AND user_id = ? AND id IN (${chunk.map(() => "?").join(", ")})`,
        scope.namespace,
        scope.userId,
        ...chunk,
      );
    }
    return deleted;
  }
}

/**
 * How long one insertMany transaction may run before it commits and yields:
 * well under the 250 ms bar on a loaded machine, and long enough that a batch
 * pays a few commits (an fsync each), not one per record.
 */
const insertSliceMs = 20;

function userKey(scope: Scope): string {
  return `${scope.namespace}\u0000${scope.userId}`;
}
