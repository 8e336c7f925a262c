import type { Embedder } from "../../src/domain/models.js";
import type { Turn } from "./dataset.js";

/**
 * The plain retrievers Engram is measured against, over the same turns:
 * Okapi BM25 (k1 = 1.2, b = 0.75, words lower-cased, no stemming, no stop
 * list) and dense cosine similarity over an embedder's vectors. Each ranks
 * one conversation's turns for a question: no types, no recency, no gate.
 */
export interface Retriever {
  /** Turn ids, best first, at most `k`. */
  rank(query: string, k: number): Promise<string[]>;
}

export function words(text: string): string[] {
  return (
    text
      .toLowerCase()
      .normalize("NFKC")
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

export function bm25(turns: readonly Turn[], k1 = 1.2, b = 0.75): Retriever {
  const documents = turns.map((t) => words(t.content));
  const averageLength = documents.reduce((sum, d) => sum + d.length, 0) / Math.max(1, documents.length);
  const frequency = new Map<string, number>();
  for (const d of documents) for (const w of new Set(d)) frequency.set(w, (frequency.get(w) ?? 0) + 1);
  const n = documents.length;
  const idf = (w: string) => {
    const df = frequency.get(w) ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  };
  return {
    async rank(query, k) {
      const terms = [...new Set(words(query))];
      const scored = documents.map((d, i) => {
        let score = 0;
        for (const term of terms) {
          const tf = d.filter((w) => w === term).length;
          if (tf === 0) continue;
          score += (idf(term) * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * d.length) / averageLength));
        }
        return { id: turns[i]!.id, score };
      });
      return scored
        .filter((s) => s.score > 0)
        .sort((x, y) => y.score - x.score)
        .slice(0, k)
        .map((s) => s.id);
    },
  };
}

export async function dense(turns: readonly Turn[], embedder: Embedder): Promise<Retriever> {
  const vectors = await embedder.embed(turns.map((t) => t.content));
  return {
    async rank(query, k) {
      const [q] = await embedder.embed([query]);
      return vectors
        .map((v, i) => ({ id: turns[i]!.id, score: dot(q!, v) / (norm(q!) * norm(v) || 1) }))
        .sort((x, y) => y.score - x.score)
        .slice(0, k)
        .map((s) => s.id);
    },
  };
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}
