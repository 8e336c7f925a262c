import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** For figures from 0 to 1 (scores, precision, reciprocal rank, nDCG). */
const unitBuckets = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

/**
 * Engram's Prometheus metrics, on their own registry so tests can create
 * several servers in one process. Labels are bounded: method and code names,
 * never user, session or namespace ids.
 */
export class EngramMetrics {
  readonly registry = new Registry();

  readonly rpcDuration = new Histogram({
    name: "engram_rpc_duration_seconds",
    help: "Time to serve an RPC, to the last response message, by method and status code.",
    labelNames: ["method", "code"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly rpcTotal = new Counter({
    name: "engram_rpc_requests_total",
    help: "RPCs served, by method and gRPC status code.",
    labelNames: ["method", "code"] as const,
    registers: [this.registry],
  });

  readonly compactions = new Counter({
    name: "engram_compactions_total",
    help: "Session compactions committed.",
    registers: [this.registry],
  });

  readonly compactionTokensSaved = new Counter({
    name: "engram_compaction_tokens_saved_total",
    help: "Tokens removed from sessions by compaction (before minus after).",
    registers: [this.registry],
  });

  readonly compactionFailures = new Counter({
    name: "engram_compaction_failures_total",
    help: "Compactions that failed (the messages stay; the next append retries).",
    registers: [this.registry],
  });

  readonly gateDecisions = new Counter({
    name: "engram_gate_decisions_total",
    help: "Write-gate decisions, by outcome (stored, dropped), reason (rule reasons; 'model' for model decisions) and decider.",
    labelNames: ["outcome", "reason", "decided_by"] as const,
    registers: [this.registry],
  });

  readonly piiFindings = new Counter({
    name: "engram_pii_findings_total",
    help: "Personal data or credentials found in long-term writes, by kind and action (redacted, refused).",
    labelNames: ["kind", "action"] as const,
    registers: [this.registry],
  });

  readonly supersessions = new Counter({
    name: "engram_supersessions_total",
    help: "Memories superseded by a newer contradicting memory.",
    registers: [this.registry],
  });

  readonly recalls = new Counter({
    name: "engram_recalls_total",
    help: "Recalls served (Recall and AssembleContext), by purpose and whether they returned nothing.",
    labelNames: ["purpose", "empty"] as const,
    registers: [this.registry],
  });

  readonly recallResults = new Histogram({
    name: "engram_recall_results",
    help: "Memories returned per recall, by purpose.",
    labelNames: ["purpose"] as const,
    buckets: [0, 1, 2, 3, 5, 10, 20, 50, 100],
    registers: [this.registry],
  });

  readonly recallTopScore = new Histogram({
    name: "engram_recall_top_score",
    help: "Final score of the best memory of each non-empty recall (0..1).",
    labelNames: ["purpose"] as const,
    buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
    registers: [this.registry],
  });

  readonly recallMeanScore = new Histogram({
    name: "engram_recall_mean_score",
    help: "Mean final score of the memories of each non-empty recall (0..1).",
    labelNames: ["purpose"] as const,
    buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
    registers: [this.registry],
  });

  readonly recalledByType = new Counter({
    name: "engram_recalled_memories_total",
    help: "Memories returned by recalls, by memory type.",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });

  readonly usageReturned = new Counter({
    name: "engram_usage_returned_total",
    help: "Memories callers reported as returned to their LLM (ReportUsage).",
    registers: [this.registry],
  });

  readonly usageUsed = new Counter({
    name: "engram_usage_used_total",
    help: "Memories callers reported their LLM actually used (ReportUsage); used / returned is the used-rate.",
    registers: [this.registry],
  });

  readonly usagePrecision = new Histogram({
    name: "engram_usage_precision_at_k",
    help: "Per ReportUsage: used / returned, i.e. precision at k for that response.",
    buckets: unitBuckets,
    registers: [this.registry],
  });

  readonly retrievalReports = new Counter({
    name: "engram_retrieval_reports_total",
    help: "ReportUsage calls naming a retrieval (counted once per retrieval), by purpose, namespace ('*' unless ENGRAM_QUALITY_NAMESPACES lists it) and whether any returned memory was used (hit).",
    labelNames: ["purpose", "namespace", "hit"] as const,
    registers: [this.registry],
  });

  readonly retrievalPrecision = new Histogram({
    name: "engram_retrieval_precision_at_k",
    help: "Per reported retrieval: memories used / memories returned (k), by purpose and namespace.",
    labelNames: ["purpose", "namespace"] as const,
    buckets: unitBuckets,
    registers: [this.registry],
  });

  readonly retrievalReciprocalRank = new Histogram({
    name: "engram_retrieval_reciprocal_rank",
    help: "Per reported retrieval: 1 / rank of the best-ranked used memory, 0 when none was used; the mean is MRR.",
    labelNames: ["purpose", "namespace"] as const,
    buckets: unitBuckets,
    registers: [this.registry],
  });

  readonly retrievalNdcg = new Histogram({
    name: "engram_retrieval_ndcg",
    help: "Per reported retrieval: nDCG of the used memories over the returned order (binary relevance), 0 to 1.",
    labelNames: ["purpose", "namespace"] as const,
    buckets: unitBuckets,
    registers: [this.registry],
  });

  readonly retrievalUsedByRank = new Counter({
    name: "engram_retrieval_used_by_rank_total",
    help: "Used memories of reported retrievals, by the rank they were returned at (1, 2, 3, 4-5, 6-10, 11-20, 21+) and purpose.",
    labelNames: ["purpose", "rank"] as const,
    registers: [this.registry],
  });

  readonly evictions = new Counter({
    name: "engram_evictions_total",
    help: "Memories forgotten, by how they were chosen: 'band' (bulk, by thresholds) or 'policy' (one by one).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly backendDuration = new Histogram({
    name: "engram_backend_duration_seconds",
    help: "Time of storage backend operations, by backend, tier and operation.",
    labelNames: ["backend", "tier", "operation"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly backendErrors = new Counter({
    name: "engram_backend_errors_total",
    help: "Failed storage backend operations, by backend, tier and error kind.",
    labelNames: ["backend", "tier", "kind"] as const,
    registers: [this.registry],
  });

  readonly backendUp = new Gauge({
    name: "engram_backend_up",
    help: "1 while the backend's last health check passed, else 0.",
    labelNames: ["backend"] as const,
    registers: [this.registry],
  });

  readonly storeItems = new Gauge({
    name: "engram_store_items",
    help: "Items held per tier (sessions, working tasks, long-term memories), where the backend counts them cheaply.",
    labelNames: ["tier"] as const,
    registers: [this.registry],
  });

  /** Reads the learning queue's depth at scrape time; set once the stores are open. */
  learningQueueDepthSource: (() => Promise<number>) | undefined;

  readonly learningQueueDepth = new Gauge({
    name: "engram_learning_queue_depth",
    help: "Background learning jobs (compaction, extraction) waiting or in progress, in the shared queue.",
    registers: [this.registry],
    collect: async () => {
      const depth = await this.learningQueueDepthSource?.().catch(() => undefined);
      if (depth !== undefined) this.learningQueueDepth.set(depth);
    },
  });

  readonly learnedMessages = new Counter({
    name: "engram_learning_messages_total",
    help: "Session messages learnt from (each exactly once), by what triggered it: compaction, end, idle.",
    labelNames: ["trigger"] as const,
    registers: [this.registry],
  });

  readonly learningLag = new Histogram({
    name: "engram_learning_lag_seconds",
    help: "From a batch's oldest message being appended to it being learnt from, by trigger.",
    labelNames: ["trigger"] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
    registers: [this.registry],
  });

  readonly learningFailures = new Counter({
    name: "engram_learning_failures_total",
    help: "Learning jobs that failed and will be delivered again (kind: error), or model output dropped after retries (kind: malformed).",
    labelNames: ["trigger", "kind"] as const,
    registers: [this.registry],
  });

  readonly summaryTruncations = new Counter({
    name: "engram_summary_truncations_total",
    help: "Summaries a model returned longer than ENGRAM_SUMMARY_MAX_TOKENS, cut to it.",
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "engram_" });
  }
}
