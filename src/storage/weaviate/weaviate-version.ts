/**
 * Weaviate versions whose BM25 leaves out matches Engram's recall needs.
 *
 * Collections made since Weaviate 1.30 search BM25 with BlockMax WAND,
 * which skips documents whose upper bound cannot enter the top `limit`.
 * Until 1.37.12 and 1.38.3 those bounds were wrong in three places: a
 * word still in the memtable (the last minute or so of writes) counted
 * for nothing (weaviate/weaviate#11780), so did a word found in one
 * document of a segment (#11772), and a freshly flushed segment bounded
 * its blocks with k1 and b swapped until compaction rewrote it (#12022).
 * Once more memories than the limit match a query's common words, the
 * memory holding its rare word is silently left out, depending on when
 * Weaviate last flushed and compacted: the same recall answers
 * differently from one minute to the next. On LoCoMo's dev set, storing
 * every turn scored 0.61 to 0.78 recall_any@10 on runs of one build with
 * Weaviate 1.35.2 (docs/recall-quality.md).
 */
const fixedIn: readonly (readonly [major: number, minor: number, patch: number])[] = [
  [1, 37, 12],
  [1, 38, 3],
];
const firstAffected = [1, 30, 0] as const;

/**
 * Why this Weaviate version's BM25 results cannot be trusted, or undefined
 * when they can (or the version cannot be read: no warning on a guess).
 */
export function bm25Defect(version: string): string | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!match) return undefined;
  const v = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] as const;
  if (compare(v, firstAffected) < 0) return undefined;
  // A fixed release line decides for its own patches; lines after the last listed one are fixed.
  const line = fixedIn.find(([major, minor]) => major === v[0] && minor === v[1]);
  const last = fixedIn[fixedIn.length - 1]!;
  const fixed = line ? compare(v, line) >= 0 : compare(v, last) > 0;
  if (fixed) return undefined;
  return (
    `Weaviate ${v.join(".")} can leave recently written or rare-word memories out of BM25 results ` +
    `(BlockMax WAND bounds, fixed in ${fixedIn.map((f) => f.join(".")).join(" and ")}): ` +
    `Recall's lexical signal misses them; upgrade Weaviate`
  );
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
