import type { ScoredMemory } from "./types.js";

/**
 * The optional last stage of recall: a reranker (a cross-encoder or a chat
 * model behind an OpenAI-compatible API, see models/openai-reranker.ts)
 * reads the query beside each of the best `depth` results and scores them;
 * those results are reordered by its scores (ties keep the ranking's
 * order), the rest keep their places. Off by default: everything stays
 * offline unless ENGRAM_RERANK_URL is set.
 */
export interface Reranker {
  /** One score per document, in the documents' order; higher is more relevant. */
  rerank(query: string, documents: readonly string[], signal?: AbortSignal): Promise<number[]>;
}

/** The text a reranker reads for a memory: who said it, and what. */
export function rerankDocument(result: ScoredMemory): string {
  const { speaker, content } = result.memory;
  return speaker ? `${speaker}: ${content}` : content;
}

/** `ranked` with its first `scores.length` results reordered by `scores`, best first. Pure. */
export function reorderByRerank(ranked: readonly ScoredMemory[], scores: readonly number[]): ScoredMemory[] {
  const head = ranked
    .slice(0, scores.length)
    .map((result, i) => ({ result, score: scores[i] ?? -Infinity, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map((s) => s.result);
  return [...head, ...ranked.slice(scores.length)];
}
