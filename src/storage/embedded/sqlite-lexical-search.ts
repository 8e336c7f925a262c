import type { Scope } from "../../domain/types.js";
import type { CandidateSearch, MemorySearch } from "../../domain/ports.js";
import type { ScoredId } from "../../domain/hybrid-fusion.js";
import { termsWorthMatching } from "./bm25-term-selection.js";
import { ftsPhrase, matchedTerms } from "./fts-query.js";
import type { SqliteDatabase } from "./sqlite-database.js";
import { filterSql } from "./sqlite-memory-filter.js";

/**
 * The user's `limit` best BM25 matches for the query's terms (FTS5's
 * bm25() is negated: higher is better), on the read thread
 * (SqliteDatabase.readAll): a long query's match is the costliest step of
 * a Recall and the caller chooses it.
 *
 * Terms in at least half the index's rows weigh nothing in bm25() and are
 * left out of the match (bm25-term-selection.ts), by the counts of
 * `IndexTermCounts`. Every matching row is checked against
 * memories_search, an index of the columns the checks read: the planner
 * would otherwise read each matching row, vector and text included (75 ms
 * against 12 ms for a query matching 10,000 memories).
 */
export async function lexicalCandidates(
  database: SqliteDatabase,
  counts: IndexTermCounts,
  scope: Scope,
  search: CandidateSearch | MemorySearch,
  queryTerms: readonly string[],
): Promise<ScoredId[]> {
  const terms = await counts.informative(matchedTerms(queryTerms));
  if (terms.length === 0) return [];
  const types = search.types.length > 0 ? `AND m.type IN (${search.types.map(() => "?").join(", ")})` : "";
  const current = search.includeSuperseded ? "" : "AND m.superseded_by IS NULL";
  const filter = filterSql(search.filter, "m");
  const speakers = search.speakers ?? [];
  const spoken = speakers.length > 0 ? `AND m.speaker IN (${speakers.map(() => "?").join(", ")})` : "";
  const rows = await database.readAll(
    `SELECT k.id AS id, -bm25(memories_fts) AS score FROM memories_fts
       JOIN memory_search_keys k ON k.key = memories_fts.rowid
       JOIN memories m INDEXED BY memories_search
         ON m.namespace = k.namespace AND m.user_id = k.user_id AND m.id = k.id
       WHERE memories_fts MATCH ? AND k.namespace = ? AND k.user_id = ? ${types} ${current} ${spoken}${filter.where}
       ORDER BY bm25(memories_fts) LIMIT ?`,
    terms.map(ftsPhrase).join(" OR "),
    scope.namespace,
    scope.userId,
    ...search.types,
    ...speakers,
    ...filter.params,
    search.limit,
  );
  return rows.map((row) => ({ id: String(row.id), score: Number(row.score) }));
}

/**
 * How many rows of the full-text index each term matches, and how many it
 * holds: what bm25() computes its IDF from, counted the same way (a term's
 * own MATCH, through the index's tokenizer). The index holds every user's
 * memories, so these counts, like bm25()'s, are over all of them.
 *
 * Each count walks the term's posting list once, as bm25() does for its
 * IDF; counting a query's few terms cost 0.15–0.3 ms of CPU on the bench's
 * realistic corpus, against 0.5–1.3 ms for the match itself, so counts are
 * kept until the database changes: any write on this connection
 * (`total_changes()`) or on another (`PRAGMA data_version`). A busy server
 * writes access statistics about once a second, so a query's common words,
 * the ones with long posting lists, are counted about once a second.
 */
export class IndexTermCounts {
  private mark = "";
  private rows = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly database: SqliteDatabase) {}

  /** The terms without those bm25() gives no weight. A lone term is kept without counting (it would be kept anyway). */
  async informative(terms: readonly string[]): Promise<readonly string[]> {
    // A closed database is reported by the match, as unavailable.
    if (terms.length < 2 || !this.database.isOpen()) return terms;
    const mark = this.changeMark();
    if (mark !== this.mark) {
      this.mark = mark;
      this.rows = -1;
      this.counts.clear();
    }
    const missing = terms.filter((t) => !this.counts.has(t));
    const cached = new Map(terms.map((t) => [t, this.counts.get(t) ?? 0]));
    let rows = this.rows;
    if (missing.length > 0 || rows < 0) {
      const [counted] = await this.database.readAll(
        `SELECT (SELECT COUNT(*) FROM memory_search_keys) AS n${missing
          .map((_, i) => `, (SELECT COUNT(*) FROM memories_fts WHERE memories_fts MATCH ?) AS d${i}`)
          .join("")}`,
        ...missing.map(ftsPhrase),
      );
      if (!counted) return terms;
      rows = Number(counted.n);
      missing.forEach((term, i) => cached.set(term, Number(counted[`d${i}`])));
      // Kept only if nothing was written meanwhile (they could predate the write).
      if (this.changeMark() === mark && this.mark === mark) {
        if (this.counts.size + missing.length > maxCachedTerms) this.counts.clear();
        this.rows = rows;
        for (const term of missing) this.counts.set(term, cached.get(term)!);
      }
    }
    return termsWorthMatching(
      terms,
      terms.map((t) => cached.get(t)!),
      rows,
    );
  }

  private changeMark(): string {
    const version = this.database.get("PRAGMA data_version")?.data_version;
    const changes = this.database.get("SELECT total_changes() AS n")?.n;
    return `${String(version)}:${String(changes)}`;
  }
}

/** Distinct terms whose counts are kept: a few hundred KiB at most. */
const maxCachedTerms = 10_000;
