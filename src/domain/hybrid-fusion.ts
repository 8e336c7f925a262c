/**
 * Relative-score fusion of a vector and a lexical (BM25) candidate list into
 * one relevance per memory, 0..1: each list's scores are min-max normalised
 * over its own candidates (best = 1, worst = 0; a list whose scores are all
 * equal counts 1 for each), then
 *
 *   relevance = alpha × vector' + (1 − alpha) × lexical'
 *
 * with 0 for a list a memory is absent from. This is the formula Weaviate's
 * `relativeScoreFusion` applies server-side, so the embedded store, which
 * fuses here, and Weaviate, which returns its fused score, give relevances
 * that mean the same thing. Raw BM25 scores have no fixed scale (they grow
 * with query length and rarity of words); normalising per query is what
 * makes them addable to cosine similarity at all.
 */
export interface ScoredId {
  readonly id: string;
  readonly score: number;
}

export function fuseRelativeScores(
  vector: readonly ScoredId[],
  lexical: readonly ScoredId[],
  alpha: number,
): ScoredId[] {
  const fused = new Map<string, number>();
  const add = (list: readonly ScoredId[], weight: number) => {
    if (list.length === 0 || weight === 0) return;
    let min = Infinity;
    let max = -Infinity;
    for (const { score } of list) {
      min = Math.min(min, score);
      max = Math.max(max, score);
    }
    const range = max - min;
    for (const { id, score } of list) {
      const normalised = range > 0 ? (score - min) / range : 1;
      fused.set(id, (fused.get(id) ?? 0) + weight * normalised);
    }
  };
  add(vector, alpha);
  add(lexical, 1 - alpha);
  // Members of either list stay candidates even at 0 (the worst of one list, absent from the other).
  for (const { id } of [...vector, ...lexical]) if (!fused.has(id)) fused.set(id, 0);
  return [...fused].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}
