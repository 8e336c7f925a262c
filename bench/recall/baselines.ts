import type { Embedder } from "../../src/domain/models.js";
import type { Turn } from "./dataset.js";

/**
 * The plain retrievers Engram is measured against, over the same turns,
 * each turn indexed as "<speaker>: <text>": Okapi BM25 (k1 = 1.2, b = 0.75,
 * words lower-cased, no stemming, a small English stop list with the
 * function words of questions: the dev set README's reference, 0.638
 * recall_any@10, is reproduced within a point), dense cosine
 * similarity over an embedder's vectors, and the relative-score fusion of
 * the two (each score list min-max normalised over every turn, then
 * α × dense + (1 − α) × BM25). Each ranks one conversation's turns for a
 * question: no types, no recency, no gate.
 */
export interface Retriever {
  /** Turn ids, best first, at most `k`. */
  rank(query: string, k: number): Promise<string[]>;
}

/** A retriever that scores every turn, so scores can be fused. */
export interface ScoringRetriever extends Retriever {
  /** One score per turn, in the turns' order. */
  scores(query: string): Promise<number[]>;
}

const stopWords = new Set(
  (
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they " +
    "this to was will with " +
    "what when where who whom which why how do does did have has had were been being am i you he she we me him " +
    "her us them my your his its our this those can would could should"
  ).split(" "),
);

export function words(text: string): string[] {
  return (
    text
      .toLowerCase()
      .normalize("NFKC")
      .match(/[\p{L}\p{N}]+/gu) ?? []
  ).filter((w) => !stopWords.has(w));
}

export const indexedText = (turn: Turn): string => `${turn.speaker}: ${turn.content}`;

function ranked(turns: readonly Turn[], scores: readonly number[], k: number, positiveOnly: boolean): string[] {
  return scores
    .map((score, i) => ({ id: turns[i]!.id, score }))
    .filter((s) => !positiveOnly || s.score > 0)
    .sort((x, y) => y.score - x.score)
    .slice(0, k)
    .map((s) => s.id);
}

export function bm25(turns: readonly Turn[], k1 = 1.2, b = 0.75): ScoringRetriever {
  const documents = turns.map((t) => words(indexedText(t)));
  const averageLength = documents.reduce((sum, d) => sum + d.length, 0) / Math.max(1, documents.length);
  const frequency = new Map<string, number>();
  for (const d of documents) for (const w of new Set(d)) frequency.set(w, (frequency.get(w) ?? 0) + 1);
  const n = documents.length;
  const idf = (w: string) => {
    const df = frequency.get(w) ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  };
  const scores = async (query: string) => {
    const terms = [...new Set(words(query))];
    return documents.map((d) => {
      let score = 0;
      for (const term of terms) {
        const tf = d.filter((w) => w === term).length;
        if (tf === 0) continue;
        score += (idf(term) * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * d.length) / averageLength));
      }
      return score;
    });
  };
  return { scores, rank: async (query, k) => ranked(turns, await scores(query), k, true) };
}

export async function dense(turns: readonly Turn[], embedder: Embedder): Promise<ScoringRetriever> {
  const vectors = await embedder.embed(turns.map(indexedText));
  const scores = async (query: string) => {
    const [q] = await embedder.embed([query]);
    return vectors.map((v) => dot(q!, v) / (norm(q!) * norm(v) || 1));
  };
  return { scores, rank: async (query, k) => ranked(turns, await scores(query), k, false) };
}

export function fused(
  turns: readonly Turn[],
  vector: ScoringRetriever,
  lexical: ScoringRetriever,
  alpha = 0.5,
): Retriever {
  return {
    async rank(query, k) {
      const [v, l] = await Promise.all([vector.scores(query), lexical.scores(query)]);
      const nv = minMax(v);
      const nl = minMax(l);
      return ranked(
        turns,
        nv.map((s, i) => alpha * s + (1 - alpha) * nl[i]!),
        k,
        false,
      );
    },
  };
}

function minMax(scores: readonly number[]): number[] {
  const min = Math.min(...scores);
  const range = Math.max(...scores) - min;
  return scores.map((s) => (range > 0 ? (s - min) / range : 0));
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}
