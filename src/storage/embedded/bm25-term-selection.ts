/**
 * The query terms worth a full-text match, given how many rows of the index
 * each matches (`rowsMatching[i]` for `terms[i]`) out of `rows`.
 *
 * FTS5's bm25() weighs a term by its IDF, log((N − n + 0.5) / (n + 0.5)),
 * and floors it at 1e-6 once that is not positive, i.e. for a term found in
 * at least half the rows (2n ≥ N): such a term adds at most a millionth of
 * a point to any row's score, yet the match walks its whole posting list and
 * scores every row it holds (for words all 11,000 memories of the speed
 * bench's first corpus shared, 20 ms of CPU per query, 4 ms without them).
 * Leaving it out changes no other term's IDF (each term's is computed on its
 * own), so every row matching another term keeps its score to within those
 * millionths and its order. What is lost is the rows matching only such
 * terms, which scored about 0 and came last. When every term is that common
 * the query is kept whole: its rows are then told apart by those tiny scores
 * alone, and a memory matching a word is better than none.
 */
export function termsWorthMatching(
  terms: readonly string[],
  rowsMatching: readonly number[],
  rows: number,
): readonly string[] {
  const kept = terms.filter((_, i) => 2 * (rowsMatching[i] ?? 0) < rows);
  return kept.length > 0 ? kept : terms;
}
