import { wordForms } from "./word-forms.js";
import { readQueryPeriod, type QueryPeriod } from "./query-period.js";

/**
 * What a recall's text asks, read once and used by every ranking stage:
 *
 * - `terms`: the words worth matching lexically. Lower-cased letters and
 *   digits, without English stop words and without the words every
 *   question is made of ("what", "did", "when", "how"...): in a
 *   conversation store those match every question anyone asked, so as BM25
 *   terms they rank the turns that ask questions, never the ones that answer.
 *   Each word comes with its regular inflections ("painted": "paint",
 *   "paints", "painting"; domain/word-forms.ts), names without.
 * - `names`: capitalised words that could name a speaker ("What did
 *   Caroline research?"), matched against memories' speakers by
 *   domain/speaker-match.ts.
 * - `period`: the day, month or year the question says it happened in
 *   ("on 13 October 2023", "in July 2022"), matched against memories'
 *   `occurredAt` by domain/period-match.ts.
 * - `aboutRecency`: the question asks for the latest or current state
 *   ("what is my job now", "most recently", "the last time"), the one case
 *   where the newer of two equally relevant events should win.
 */
export interface RecallQuery {
  readonly text: string;
  readonly terms: readonly string[];
  readonly names: readonly string[];
  readonly aboutRecency: boolean;
  /** The day, month or year the query names, if any (domain/query-period.ts). */
  readonly period?: QueryPeriod;
}

export function readRecallQuery(text: string): RecallQuery {
  // A possessive's "s" is no word of its own ("Caroline's" is "Caroline").
  const lower = text
    .toLowerCase()
    .normalize("NFKC")
    .replace(/['’]s\b/gu, "");
  const names = [
    ...new Set(
      (text.normalize("NFKC").match(/\p{Lu}[\p{L}'’-]*/gu) ?? [])
        .map((w) => w.replace(/['’]s$/u, "").replace(/['’-]+$/u, ""))
        .filter((w) => w.length > 1 && !ignoredTerms.has(w.toLowerCase())),
    ),
  ];
  // The query's words, then their regular inflections (domain/word-forms.ts; names do not inflect):
  // a store bounding the terms it matches keeps the words before the forms.
  const named = new Set(names.map((n) => n.toLowerCase()));
  const words = (lower.match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !ignoredTerms.has(w));
  const terms = [...new Set([...words, ...words.flatMap((w) => (named.has(w) ? [] : wordForms(w)))])];
  const period = readQueryPeriod(text);
  return { text, terms, names, aboutRecency: recency.test(lower), ...(period ? { period } : {}) };
}

const recency =
  /\b(now|currently|current|these days|nowadays|latest|most recent(ly)?|recently|lately|last time|anymore|any more|still|at the moment|newest|today)\b/;

/**
 * Stop words (Weaviate's and Lucene's English list, what the backends'
 * BM25 leaves out anyway) and the function words of questions.
 */
const ignoredTerms = new Set(
  (
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they " +
    "this to was will with " +
    "what whats when where which who whom whose why how does do did done has have had can could would should " +
    "might shall am been being i me my you your yours he him his she her hers we us our its them " +
    "about any some from than so just also very much many"
  ).split(" "),
);
