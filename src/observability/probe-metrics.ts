import { Gauge, Histogram, Pushgateway, Registry } from "prom-client";
import type { ProbeRun } from "../domain/probe-set.js";

/**
 * What the recall probe measured, labelled by probe set. Last-run gauges, so
 * the in-process probe (scraped with the server's metrics) and `engram probe`
 * (pushed to a Pushgateway, where each push replaces the last) read alike;
 * per-query latency is also a histogram, for quantiles over time.
 */
export class ProbeMetrics {
  readonly recallAtK: Gauge<"probe_set" | "k">;
  readonly signalRecallAtK: Gauge<"probe_set" | "k" | "signal">;
  readonly reciprocalRank: Gauge<"probe_set">;
  readonly missed: Gauge<"probe_set">;
  readonly queries: Gauge<"probe_set">;
  readonly runSeconds: Gauge<"probe_set">;
  readonly queryDuration: Histogram<"probe_set">;
  readonly lastSuccess: Gauge<"probe_set">;
  readonly lastFailure: Gauge<"probe_set">;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.recallAtK = new Gauge({
      name: "engram_probe_recall_at_k",
      help: "Last probe run: mean over its queries of labelled-relevant memories found in the top k / relevant (1 is perfect).",
      labelNames: ["probe_set", "k"] as const,
      registers,
    });
    this.signalRecallAtK = new Gauge({
      name: "engram_probe_signal_recall_at_k",
      help:
        "Last probe run, ranked by one signal alone (vector or lexical): recall@k as engram_probe_recall_at_k. " +
        "The fused ranking can hide one broken signal behind the other; this shows which one fell.",
      labelNames: ["probe_set", "k", "signal"] as const,
      registers,
    });
    this.reciprocalRank = new Gauge({
      name: "engram_probe_reciprocal_rank",
      help: "Last probe run: mean reciprocal rank of the first relevant memory (0 when outside the top k).",
      labelNames: ["probe_set"] as const,
      registers,
    });
    this.missed = new Gauge({
      name: "engram_probe_missed_queries",
      help: "Last probe run: queries with no relevant memory in the top k.",
      labelNames: ["probe_set"] as const,
      registers,
    });
    this.queries = new Gauge({
      name: "engram_probe_queries",
      help: "Queries in the probe set.",
      labelNames: ["probe_set"] as const,
      registers,
    });
    this.runSeconds = new Gauge({
      name: "engram_probe_last_run_duration_seconds",
      help: "How long the last probe run took, every query included.",
      labelNames: ["probe_set"] as const,
      registers,
    });
    this.queryDuration = new Histogram({
      name: "engram_probe_query_duration_seconds",
      help: "Latency of each probe query (embedding, search and ranking; no RPC).",
      labelNames: ["probe_set"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: "engram_probe_last_success_timestamp_seconds",
      help: "When a probe run last finished (Unix seconds).",
      labelNames: ["probe_set"] as const,
      registers,
    });
    this.lastFailure = new Gauge({
      name: "engram_probe_last_failure_timestamp_seconds",
      help: "When a probe run last failed (Unix seconds).",
      labelNames: ["probe_set"] as const,
      registers,
    });
  }

  recordRun(run: ProbeRun, at: Date): void {
    const probe_set = run.probeSet;
    this.recallAtK.set({ probe_set, k: String(run.topK) }, run.score.recallAtK);
    for (const [signal, score] of Object.entries(run.bySignal)) {
      this.signalRecallAtK.set({ probe_set, k: String(run.topK), signal }, score.recallAtK);
    }
    this.reciprocalRank.set({ probe_set }, run.score.meanReciprocalRank);
    this.missed.set({ probe_set }, run.score.missed);
    this.queries.set({ probe_set }, run.score.queries);
    this.runSeconds.set({ probe_set }, run.seconds);
    for (const r of run.results) this.queryDuration.observe({ probe_set }, r.seconds);
    this.lastSuccess.set({ probe_set }, at.getTime() / 1000);
  }

  recordFailure(probeSet: string, at: Date): void {
    this.lastFailure.set({ probe_set: probeSet }, at.getTime() / 1000);
  }

  /** Replaces this probe set's group on the Pushgateway: job `engram_probe`. */
  async push(url: string, probeSet: string, timeoutMs = 10_000): Promise<void> {
    const gateway = new Pushgateway(url, { timeout: timeoutMs }, this.registry);
    await gateway.push({ jobName: "engram_probe", groupings: { probe_set: probeSet } });
  }
}
