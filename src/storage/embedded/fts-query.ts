/**
 * The FTS5 query for a recall's text: its words, each quoted (so operators
 * and punctuation in user text are never FTS5 syntax), joined by OR, so a
 * memory matching any word is a candidate and BM25 ranks those matching the
 * rarer and more numerous words first. English stop words are left out, as
 * Weaviate's default `en` preset leaves them out of its BM25: they match
 * nearly everything and would only slow the query down.
 */
export function ftsQuery(text: string): string | undefined {
  return ftsTermsQuery(ftsTerms(text));
}

/** A text's distinct words as `ftsQuery` matches them: lower-cased letters and digits, without stop words. */
export function ftsTerms(text: string): string[] {
  return [
    ...new Set(
      (
        text
          .toLowerCase()
          .normalize("NFKC")
          .match(/[\p{L}\p{N}]+/gu) ?? []
      ).filter((w) => !stopWords.has(w)),
    ),
  ];
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
  const words = matchedTerms(terms).map(ftsPhrase);
  return words.length > 0 ? words.join(" OR ") : undefined;
}

/** The terms a match uses: the first `maxMatchTerms` that are not empty. */
export function matchedTerms(terms: readonly string[]): string[] {
  return terms.filter((t) => t !== "").slice(0, maxMatchTerms);
}

/** One term as an FTS5 phrase: quoted, so no character of it is FTS5 syntax. */
export function ftsPhrase(term: string): string {
  return `"${term.replaceAll('"', '""')}"`;
}

/** Weaviate's (and Lucene's) English stop words. */
const stopWords = new Set(
  (
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they " +
    "this to was will with"
  ).split(" "),
);
