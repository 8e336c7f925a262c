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
 * Two reads. The first counts the rows each term matches, as FTS5 counts
 * them for its IDF (a term's own MATCH, so through the index's tokenizer),
 * and the index's rows: terms in at least half of them weigh nothing in
 * bm25() and are left out of the match (bm25-term-selection.ts). The index
 * holds every user's memories, so those counts, like bm25()'s, are over
 * all of them. The second is the match: every matching row is checked
 * against memories_search, an index of the columns the checks read: the
 * planner would otherwise read each matching row, vector and text included
 * (75 ms against 12 ms for a query matching 10,000 memories).
 */
export async function lexicalCandidates(
  database: SqliteDatabase,
  scope: Scope,
  search: CandidateSearch | MemorySearch,
  queryTerms: readonly string[],
): Promise<ScoredId[]> {
  const terms = await informativeTerms(database, matchedTerms(queryTerms));
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
 * The terms without those bm25() gives no weight. A lone term is kept
 * without asking (it would be kept anyway). Each count walks the term's
 * posting list once, as bm25() itself does for its IDF, and far cheaper
 * than scoring every row in it.
 */
async function informativeTerms(database: SqliteDatabase, terms: readonly string[]): Promise<readonly string[]> {
  if (terms.length < 2) return terms;
  const [counts] = await database.readAll(
    `SELECT (SELECT COUNT(*) FROM memory_search_keys) AS n, ${terms
      .map((_, i) => `(SELECT COUNT(*) FROM memories_fts WHERE memories_fts MATCH ?) AS d${i}`)
      .join(", ")}`,
    ...terms.map(ftsPhrase),
  );
  if (!counts) return terms;
  return termsWorthMatching(
    terms,
    terms.map((_, i) => Number(counts[`d${i}`])),
    Number(counts.n),
  );
}
