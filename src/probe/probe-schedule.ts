import type { Registry } from "prom-client";
import type { QualityConfig } from "../config.js";
import type { Engram } from "../domain/engram.js";
import type { Logger } from "../observability/logger.js";
import { ProbeMetrics } from "../observability/probe-metrics.js";
import type { ProbeSet } from "../domain/probe-set.js";
import { RecallProbe } from "./recall-probe.js";

/**
 * Runs the recall probe in the server every `intervalMs`, the first run at
 * once. Runs never overlap (a slow run delays the next); a failed run is
 * logged and stamped in the metrics, and the schedule goes on.
 */
export function startProbeSchedule(
  probe: RecallProbe,
  probeSet: string,
  metrics: ProbeMetrics,
  logger: Logger,
  intervalMs: number,
): { close(): Promise<void> } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        const run = await probe.run(controller.signal);
        metrics.recordRun(run, new Date());
        logger.debug("recall probe run", { probeSet, ...run.score, seeded: run.seeded, seconds: run.seconds });
      } catch (error) {
        if (controller.signal.aborted) return;
        metrics.recordFailure(probeSet, new Date());
        logger.warn("recall probe run failed", { probeSet, error });
      }
      if (!controller.signal.aborted) timer = setTimeout(tick, intervalMs).unref();
    })();
  };
  tick();
  return {
    close: async () => {
      controller.abort();
      clearTimeout(timer);
      await running;
    },
  };
}

/** The in-process probe as configured (ENGRAM_PROBE_*), its metrics on the server's registry. */
export function startConfiguredProbe(
  quality: QualityConfig,
  set: ProbeSet,
  engram: Engram,
  registry: Registry,
  logger: Logger,
): { close(): Promise<void> } {
  const { intervalMs, namespace, topK } = quality.probe;
  const probe = new RecallProbe(engram.longTerm, set, { namespace, topK });
  logger.info("recall probe scheduled", { probeSet: set.name, namespace, topK, intervalMs });
  return startProbeSchedule(probe, set.name, new ProbeMetrics(registry), logger, intervalMs);
}
