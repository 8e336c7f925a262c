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
  return [...words]
    .slice(0, maxMatchTerms)
    .map((w) => `"${w}"`)
    .join(" OR ");
}

/**
 * The first distinct terms of a query that the full-text match uses, at
 * most. A match costs about its terms times the memories each matches: an
 * 8 KiB query is over 1,000 terms, and over 240 memories sharing its words
 * 16 terms took 79 ms, 256 took 214 ms, and all of them seconds. A question
 * has a few terms; past 64 the text is a document, and the vector search
 * still reads all of it (up to the model's 256 tokens).
 */
export const maxMatchTerms = 64;

/** The FTS5 query for terms already chosen by the domain (domain/recall-query.ts): each quoted, joined by OR. */
export function ftsTermsQuery(terms: readonly string[]): string | undefined {
  const words = terms
    .filter((t) => t !== "")
    .slice(0, maxMatchTerms)
    .map((t) => `"${t.replaceAll('"', '""')}"`);
  return words.length > 0 ? words.join(" OR ") : undefined;
}

/** Weaviate's (and Lucene's) English stop words. */
const stopWords = new Set(
  (
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they " +
    "this to was will with"
  ).split(" "),
);
