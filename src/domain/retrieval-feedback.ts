/**
 * Retrieval quality from one report of what the caller's LLM used, scored
 * against the order in which Engram returned the memories. Pure: the caller
 * looks the retrieval up and counts the result.
 *
 * Relevance is binary (used or not), so with k returned memories and used
 * memories at ranks r₁ < r₂ < …:
 *   precision@k     = |used| / k
 *   hit             = |used| > 0
 *   reciprocal rank = 1 / r₁ (0 when nothing was used)
 *   nDCG@k          = Σ 1/log₂(rᵢ + 1) / Σ_{i=1..|used|} 1/log₂(i + 1)
 * nDCG is 1 when the used memories were returned first, whatever their
 * number, and falls the further down the list they were.
 */
export interface RetrievalScore {
  /** Memories returned (k). */
  readonly returned: number;
  readonly used: number;
  readonly precision: number;
  readonly hit: boolean;
  readonly reciprocalRank: number;
  readonly ndcg: number;
  /** 1-based rank of each used memory, in the order the caller listed them. */
  readonly usedRanks: readonly number[];
}

/**
 * Scores `usedIds` against `returnedIds` (best first). Returns the index of
 * the first used id that was not returned instead, so the caller can name it.
 */
export function scoreRetrieval(
  returnedIds: readonly string[],
  usedIds: readonly string[],
): RetrievalScore | { readonly notReturned: number } {
  const rankOf = new Map<string, number>();
  returnedIds.forEach((id, i) => {
    if (!rankOf.has(id)) rankOf.set(id, i + 1);
  });
  const usedRanks: number[] = [];
  const seen = new Set<number>();
  for (const [i, id] of usedIds.entries()) {
    const rank = rankOf.get(id);
    if (rank === undefined) return { notReturned: i };
    usedRanks.push(rank);
    seen.add(rank);
  }
  const ranks = [...seen].sort((a, b) => a - b);
  const k = rankOf.size;
  const dcg = ranks.reduce((sum, r) => sum + 1 / Math.log2(r + 1), 0);
  let ideal = 0;
  for (let i = 1; i <= ranks.length; i++) ideal += 1 / Math.log2(i + 1);
  return {
    returned: k,
    used: ranks.length,
    precision: k === 0 ? 0 : ranks.length / k,
    hit: ranks.length > 0,
    reciprocalRank: ranks.length > 0 ? 1 / ranks[0]! : 0,
    ndcg: ideal === 0 ? 0 : dcg / ideal,
    usedRanks,
  };
}

/** Bounded rank label for "used at rank" counters: 1, 2, 3, 4-5, 6-10, 11-20, 21+. */
export function rankBand(rank: number): string {
  if (rank <= 3) return String(rank);
  if (rank <= 5) return "4-5";
  if (rank <= 10) return "6-10";
  if (rank <= 20) return "11-20";
  return "21+";
}
