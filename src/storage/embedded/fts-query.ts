/**
 * The FTS5 query for a recall's text: its words, each quoted (so operators
 * and punctuation in user text are never FTS5 syntax), joined by OR, so a
 * memory matching any word is a candidate and BM25 ranks those matching the
 * rarer and more numerous words first. English stop words are left out, as
 * Weaviate's default `en` preset leaves them out of its BM25: they match
 * nearly everything and would only slow the query down.
 */
export function ftsQuery(text: string): string | undefined {
  const words = new Set(
    (
      text
        .toLowerCase()
        .normalize("NFKC")
        .match(/[\p{L}\p{N}]+/gu) ?? []
    ).filter((w) => !stopWords.has(w)),
  );
  if (words.size === 0) return undefined;
  return [...words].map((w) => `"${w}"`).join(" OR ");
}

/** The FTS5 query for terms already chosen by the domain (domain/recall-query.ts): each quoted, joined by OR. */
export function ftsTermsQuery(terms: readonly string[]): string | undefined {
  const words = terms.filter((t) => t !== "").map((t) => `"${t.replaceAll('"', '""')}"`);
  return words.length > 0 ? words.join(" OR ") : undefined;
}

/** Weaviate's (and Lucene's) English stop words. */
const stopWords = new Set(
  (
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they " +
    "this to was will with"
  ).split(" "),
);
