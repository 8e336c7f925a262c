import type { EngramEvents } from "../domain/engram.js";
import { rankBand } from "../domain/retrieval-feedback.js";
import { RepeatThrottle } from "./repeat-throttle.js";
import type { Logger } from "./logger.js";
import type { EngramMetrics } from "./metrics.js";

/**
 * The domain's events as Prometheus metrics and log lines: what the server
 * and the `engram evict` command hand to `openEngram`, so both count the
 * same things the same way.
 */
export function metricEvents(
  metrics: EngramMetrics,
  logger: Logger,
  /** Namespaces with their own label on quality metrics (ENGRAM_QUALITY_NAMESPACES); the rest are "other". */
  labelledNamespaces: readonly string[] = [],
): EngramEvents {
  const namespaceLabel = qualityNamespaceLabel(labelledNamespaces);
  // An outage would otherwise log once per recall.
  const notKept = new RepeatThrottle(10_000);
  // Series exist from the start at zero, so a rate reads 0 (not "no data") before the first report.
  for (const purpose of ["recall", "assemble"]) {
    for (const namespace of labelledNamespaces.length === 0 ? ["*"] : [...labelledNamespaces, "other"]) {
      for (const hit of ["true", "false"]) metrics.retrievalReports.inc({ purpose, namespace, hit }, 0);
      metrics.retrievalPrecision.zero({ purpose, namespace });
      metrics.retrievalReciprocalRank.zero({ purpose, namespace });
      metrics.retrievalNdcg.zero({ purpose, namespace });
    }
  }
  return {
    compacted: (info) => {
      metrics.compactions.inc();
      metrics.compactionTokensSaved.inc(Math.max(0, info.tokensBefore - info.tokensAfter));
    },
    compactionFailed: (error) => {
      metrics.compactionFailures.inc();
      logger.warn("compaction failed", { error });
    },
    summaryTruncated: () => metrics.summaryTruncations.inc(),
    learnt: ({ reason, messages, lagMs }) => {
      metrics.learnedMessages.inc({ trigger: reason }, messages);
      metrics.learningLag.observe({ trigger: reason }, lagMs / 1000);
    },
    extractionMalformed: (error, trigger) => {
      metrics.learningFailures.inc({ trigger, kind: "malformed" });
      logger.warn("a model's extraction was malformed after a retry; the batch was dropped", { error, trigger });
    },
    learningFailed: (error, reason) => {
      metrics.learningFailures.inc({ trigger: reason, kind: "error" });
      logger.warn("learning from a session failed; it is retried after its lease", { error, trigger: reason });
    },
    accessWriteFailed: (error) => logger.warn("access statistics not written", { error }),
    rerankFailed: (error) => logger.warn("the reranker failed; recall answered in its own order", { error }),
    gateDecided: (decision) =>
      metrics.gateDecisions.inc({
        outcome: decision.stored ? "stored" : "dropped",
        // Model reasons are free text: keep label values bounded.
        reason: decision.decidedBy === "model" ? "model" : decision.reason,
        decided_by: decision.decidedBy,
      }),
    piiFound: (kinds, refused) => {
      for (const kind of kinds) metrics.piiFindings.inc({ kind, action: refused ? "refused" : "redacted" });
    },
    superseded: (count) => metrics.supersessions.inc(count),
    recalled: (purpose, results) => {
      metrics.recalls.inc({ purpose, empty: String(results.length === 0) });
      metrics.recallResults.observe({ purpose }, results.length);
      if (results.length > 0) {
        metrics.recallTopScore.observe({ purpose }, results[0]!.score);
        metrics.recallMeanScore.observe({ purpose }, results.reduce((sum, r) => sum + r.score, 0) / results.length);
      }
      for (const r of results) metrics.recalledByType.inc({ type: r.memory.type });
    },
    usageReported: ({ returned, used }) => {
      metrics.usageReturned.inc(returned);
      metrics.usageUsed.inc(used);
      metrics.usagePrecision.observe(used / returned);
    },
    retrievalNotKept: (error) => {
      if (notKept.admit("retrieval", (repeats) => logger.warn("retrievals not kept again", { repeats }))) {
        logger.warn("a retrieval was not kept for ReportUsage; it was returned without a retrieval_id", { error });
      }
    },
    retrievalScored: ({ purpose, namespace, score }) => {
      const labels = { purpose, namespace: namespaceLabel(namespace) };
      metrics.retrievalReports.inc({ ...labels, hit: String(score.hit) });
      metrics.retrievalPrecision.observe(labels, score.precision);
      metrics.retrievalReciprocalRank.observe(labels, score.reciprocalRank);
      metrics.retrievalNdcg.observe(labels, score.ndcg);
      for (const rank of new Set(score.usedRanks)) metrics.retrievalUsedByRank.inc({ purpose, rank: rankBand(rank) });
    },
    evicted: ({ band, policy }) => {
      if (band > 0) metrics.evictions.inc({ reason: "band" }, band);
      if (policy > 0) metrics.evictions.inc({ reason: "policy" }, policy);
    },
  };
}

/** The `namespace` label value: "*" when none is broken out, else the namespace if listed, "other" if not. */
export function qualityNamespaceLabel(labelled: readonly string[]): (namespace: string) => string {
  const listed = new Set(labelled);
  return (namespace) => (listed.size === 0 ? "*" : listed.has(namespace) ? namespace : "other");
}
