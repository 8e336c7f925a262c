import { EngramError } from "../domain/errors.js";
import type { Stores } from "../domain/ports.js";
import type { EngramMetrics } from "./metrics.js";

/**
 * Wraps every promise-returning store method with latency and error metrics,
 * labelled by backend, tier and operation, so a slow or failing backend
 * shows in Grafana by name. Streaming methods pass through unmeasured.
 */
export function instrumentStores(stores: Stores, metrics: EngramMetrics): Stores {
  // Error series exist at zero from the start: a rate reads 0, not "no data", until the first failure.
  for (const [tier, backend] of [
    ["sessions", stores.backends.sessions],
    ["working", stores.backends.working],
    ["long_term", stores.backends.longTerm],
  ] as const) {
    for (const kind of ["unavailable", "internal"]) metrics.backendErrors.inc({ backend, tier, kind }, 0);
  }
  return {
    ...stores,
    sessions: instrument(stores.sessions, stores.backends.sessions, "sessions", metrics),
    working: instrument(stores.working, stores.backends.working, "working", metrics),
    longTerm: instrument(stores.longTerm, stores.backends.longTerm, "long_term", metrics),
  };
}

function instrument<T extends object>(target: T, backend: string, tier: string, metrics: EngramMetrics): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        const started = process.hrtime.bigint();
        const result: unknown = value.apply(object, args);
        if (!(result instanceof Promise)) return result;
        const labels = { backend, tier, operation: property };
        return result.then(
          (settled: unknown) => {
            metrics.backendDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
            return settled;
          },
          (error: unknown) => {
            metrics.backendDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
            metrics.backendErrors.inc({ backend, tier, kind: error instanceof EngramError ? error.kind : "internal" });
            throw error;
          },
        );
      };
    },
  });
}
