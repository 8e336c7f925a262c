import { Gauge, Pushgateway, Registry } from "prom-client";
import type { EvictionReport } from "../domain/types.js";

/**
 * What one `engram evict` run did, for a Prometheus Pushgateway: a CronJob
 * lives too briefly to be scraped. These are last-run gauges, not counters:
 * each push replaces the job's previous one, so a counter would restart at
 * every run. Alert on `time() - engram_eviction_last_success_timestamp_seconds`.
 */
export class EvictionRunMetrics {
  readonly registry = new Registry();

  readonly evicted = new Gauge({
    name: "engram_eviction_last_run_evicted",
    help: "Memories the last `engram evict` run forgot, by how they were chosen: 'band' (bulk) or 'policy' (one by one).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly scanned = new Gauge({
    name: "engram_eviction_last_run_scanned",
    help: "Memories the last `engram evict` run looked at (bulk-deleted bands included).",
    registers: [this.registry],
  });

  readonly duration = new Gauge({
    name: "engram_eviction_last_run_duration_seconds",
    help: "How long the last `engram evict` run took.",
    registers: [this.registry],
  });

  readonly lastSuccess = new Gauge({
    name: "engram_eviction_last_success_timestamp_seconds",
    help: "When an `engram evict` run last finished without error (Unix seconds).",
    registers: [this.registry],
  });

  readonly lastFailure = new Gauge({
    name: "engram_eviction_last_failure_timestamp_seconds",
    help: "When an `engram evict` run last failed (Unix seconds).",
    registers: [this.registry],
  });

  constructor() {
    for (const reason of ["band", "policy"]) this.evicted.set({ reason }, 0);
  }

  /** From the domain's `evicted` event: what each pass forgot. */
  recordEvicted(counts: { band: number; policy: number }): void {
    this.evicted.set({ reason: "band" }, counts.band);
    this.evicted.set({ reason: "policy" }, counts.policy);
  }

  recordSuccess(report: EvictionReport, durationMs: number, at: Date): void {
    this.scanned.set(report.scanned);
    this.duration.set(durationMs / 1000);
    this.lastSuccess.set(at.getTime() / 1000);
  }

  recordFailure(durationMs: number, at: Date): void {
    this.duration.set(durationMs / 1000);
    this.lastFailure.set(at.getTime() / 1000);
  }

  /**
   * Replaces this run's group on the Pushgateway: job `engram_evict`,
   * grouped by the namespace swept ("*" for all), so runs over different
   * namespaces do not overwrite each other.
   */
  async push(url: string, namespace: string | undefined, timeoutMs = 10_000): Promise<void> {
    const gateway = new Pushgateway(url, { timeout: timeoutMs }, this.registry);
    await gateway.push({ jobName: "engram_evict", groupings: { eviction_namespace: namespace ?? "*" } });
  }
}
