import type { Retriever } from "./baselines.js";
import type { Dataset } from "./dataset.js";

/**
 * Evidence-turn recall as the dev set's README defines it: recall_any@k is
 * the share of questions with at least one evidence turn among the first k
 * turns retrieved, recall_all@k the share with every one of them.
 */
export const ks = [1, 5, 10, 20] as const;
export type K = (typeof ks)[number];

export interface Scores {
  readonly any: Record<K, number>;
  readonly all10: number;
  /** recall_any@10 per question kind (LoCoMo's category; the synthetic fact kind). */
  readonly any10ByKind: Record<string, number>;
}

export async function score(dataset: Dataset, retrievers: (conversation: number) => Retriever): Promise<Scores> {
  const any = Object.fromEntries(ks.map((k) => [k, 0])) as Record<K, number>;
  let all10 = 0;
  const byKind = new Map<string, { hits: number; total: number }>();
  for (const question of dataset.questions) {
    const ranked = await retrievers(question.conversation).rank(question.text, Math.max(...ks));
    for (const k of ks) {
      const top = new Set(ranked.slice(0, k));
      if (question.evidence.some((e) => top.has(e))) any[k]++;
      if (k === 10) {
        const hit = question.evidence.some((e) => top.has(e));
        if (question.evidence.every((e) => top.has(e))) all10++;
        const kind = byKind.get(question.kind) ?? { hits: 0, total: 0 };
        byKind.set(question.kind, { hits: kind.hits + (hit ? 1 : 0), total: kind.total + 1 });
      }
    }
  }
  const n = Math.max(1, dataset.questions.length);
  return {
    any: Object.fromEntries(ks.map((k) => [k, any[k] / n])) as Record<K, number>,
    all10: all10 / n,
    any10ByKind: Object.fromEntries([...byKind].map(([kind, { hits, total }]) => [kind, hits / total])),
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * What the write gate dropped that was evidence, per question kind: how many
 * evidence turns the kind's questions name, how many were dropped, and why.
 */
export function dropReport(
  dataset: Dataset,
  dropped: (conversation: number) => ReadonlyMap<string, string>,
): Map<string, { evidence: number; dropped: number; reasons: Map<string, number> }> {
  const report = new Map<string, { evidence: number; dropped: number; reasons: Map<string, number> }>();
  const seen = new Set<string>();
  for (const question of dataset.questions) {
    const entry = report.get(question.kind) ?? { evidence: 0, dropped: 0, reasons: new Map<string, number>() };
    report.set(question.kind, entry);
    for (const turn of question.evidence) {
      // A turn several questions of a kind cite counts once for the kind.
      const key = `${question.kind}\u0000${question.conversation}\u0000${turn}`;
      if (seen.has(key)) continue;
      seen.add(key);
      entry.evidence++;
      const reason = dropped(question.conversation).get(turn);
      if (reason === undefined) continue;
      entry.dropped++;
      entry.reasons.set(reason, (entry.reasons.get(reason) ?? 0) + 1);
    }
  }
  return report;
}
