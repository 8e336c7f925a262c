import { readQueryPeriod, type QueryPeriod } from "./query-period.js";

/**
 * What a recall's text asks, read once and used by every ranking stage:
 *
 * - `terms`: the words worth matching lexically. Lower-cased letters and
 *   digits, without English stop words and without the words every
 *   question is made of ("what", "did", "when", "how"...): in a
 *   conversation store those match every question anyone asked, so as BM25
 *   terms they rank the turns that ask questions, never the ones that answer.
 *   The words as asked: adding their regular inflections ("painted":
 *   "paint", "painting") gained 0.7 to 1.1 points on the real dev set but
 *   cost the synthetic set two questions and 8 points of recall@1, since
 *   each form is a separate BM25 term (docs/recall-quality.md).
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
  const terms = [...new Set((lower.match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !ignoredTerms.has(w)))];
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
