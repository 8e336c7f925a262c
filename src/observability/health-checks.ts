import type { Stores } from "../domain/ports.js";
import { HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import type { HealthStatus } from "./health-status.js";
import type { Logger } from "./logger.js";
import type { EngramMetrics } from "./metrics.js";

/**
 * Checks every backend now and then every `intervalMs`: readiness follows
 * the result (liveness never does), `engram_backend_up` and the store sizes
 * are updated, and a change is logged once, with why a backend failed.
 */
export function startHealthChecks(
  stores: Stores,
  health: HealthStatus,
  logger: Logger,
  metrics: EngramMetrics,
  intervalMs: number,
): { stop(): void } {
  let stopped = false;
  let lastProblems = "";
  const run = async () => {
    const results = await Promise.all(
      stores.health.map(async (h) => {
        try {
          return { name: h.name, ok: await h.check() };
        } catch (error) {
          return { name: h.name, ok: false, problem: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    if (stopped) return;
    for (const r of results) metrics.backendUp.set({ backend: r.name }, r.ok ? 1 : 0);
    const sizes = await stores.sizes?.().catch(() => undefined);
    for (const [tier, items] of Object.entries(sizes ?? {})) {
      if (items !== undefined) metrics.storeItems.set({ tier }, items);
    }
    const ok = results.every((r) => r.ok);
    const status = ok ? Status.SERVING : Status.NOT_SERVING;
    const problems = JSON.stringify(results.filter((r) => "problem" in r));
    if (health.get("") !== status || problems !== lastProblems) {
      logger[ok ? "info" : "warn"]("health changed", { serving: ok, backends: results });
    }
    lastProblems = problems;
    health.setReady(status);
  };
  void run();
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
