import { context, SpanKind, trace, type Attributes, type Span } from "@opentelemetry/api";
import { EngramError } from "../domain/errors.js";
import type { Stores, UserWriteLock } from "../domain/ports.js";
import type { Scope } from "../domain/types.js";
import type { EngramMetrics } from "./metrics.js";
import { fail, inSpan, traced, tracer } from "./spans.js";

/**
 * The one decorator of the stores, applied by the factory to whatever stores
 * it opens: every promise-returning method gets latency and error metrics
 * (labelled by backend, tier and operation, so a slow or failing backend
 * shows in Grafana by name) and, under a traced call, a span
 * `<backend> <tier>.<method>` with the count of what it returned. Attributes
 * carry ids and counts, never content. The wait for a user's write lock is a
 * span of its own. Streaming methods (async generators) pass through: their
 * work happens as the caller iterates.
 */
export function observeStores(stores: Stores, metrics?: EngramMetrics): Stores {
  // Error series exist at zero from the start: a rate reads 0, not "no data", until the first failure.
  for (const [tier, backend] of [
    ["sessions", stores.backends.sessions],
    ["working", stores.backends.working],
    ["long_term", stores.backends.longTerm],
  ] as const) {
    for (const kind of ["unavailable", "internal"]) metrics?.backendErrors.inc({ backend, tier, kind }, 0);
  }
  return {
    ...stores,
    sessions: observeMethods(stores.sessions, stores.backends.sessions, "sessions", metrics),
    working: observeMethods(stores.working, stores.backends.working, "working", metrics),
    longTerm: observeMethods(stores.longTerm, stores.backends.longTerm, "long_term", metrics),
    ...(stores.userWriteLock ? { userWriteLock: traceLock(stores.userWriteLock) } : {}),
  };
}

function observeMethods<T extends object>(target: T, backend: string, tier: string, metrics?: EngramMetrics): T {
  const kind = backend === "embedded" ? SpanKind.INTERNAL : SpanKind.CLIENT;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      // Bound to the store itself, so the generator's own calls (this.tenant(), ...) are not wrapped into promises.
      if (value.constructor.name === "AsyncGeneratorFunction") return value.bind(object);
      return (...args: unknown[]) => {
        const started = process.hrtime.bigint();
        const span = traced() ? startSpan(backend, tier, property, kind, args[0]) : undefined;
        let result: unknown;
        try {
          result = span
            ? context.with(trace.setSpan(context.active(), span), () => value.apply(object, args))
            : value.apply(object, args);
        } catch (error) {
          throw span ? fail(span, error) : error;
        }
        // A synchronous method stays synchronous.
        if (!(result instanceof Promise)) return (span?.end(), result);
        const labels = { backend, tier, operation: property };
        const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
        return result.then(
          (settled: unknown) => {
            metrics?.backendDuration.observe(labels, elapsed());
            if (span) {
              const count = resultCount(settled);
              if (count !== undefined) span.setAttribute("engram.result_count", count);
              span.end();
            }
            return settled;
          },
          (error: unknown) => {
            metrics?.backendDuration.observe(labels, elapsed());
            metrics?.backendErrors.inc({ backend, tier, kind: error instanceof EngramError ? error.kind : "internal" });
            throw span ? fail(span, error) : error;
          },
        );
      };
    },
  });
}

function startSpan(backend: string, tier: string, operation: string, kind: SpanKind, firstArg: unknown): Span {
  const scope = firstArg as Partial<Scope> | undefined;
  const attributes: Attributes = { "engram.backend": backend, "engram.tier": tier, "engram.operation": operation };
  if (typeof scope?.namespace === "string") attributes["engram.namespace"] = scope.namespace;
  if (typeof scope?.userId === "string") attributes["engram.user_id"] = scope.userId;
  return tracer.startSpan(`${backend} ${tier}.${operation}`, { kind, attributes });
}

/** The wait for a user's write lock, as its own span ending when the section starts. */
function traceLock(lock: UserWriteLock): UserWriteLock {
  return {
    hold: (scope, section, signal) =>
      inSpan(
        "engram user_write_lock.wait",
        SpanKind.INTERNAL,
        { "engram.namespace": scope.namespace, "engram.user_id": scope.userId },
        (wait) => {
          let waiting = true;
          return lock
            .hold(
              scope,
              () => {
                wait.end();
                waiting = false;
                return section();
              },
              signal,
            )
            .finally(() => {
              if (waiting) wait.setAttribute("engram.lock_acquired", false);
            });
        },
      ),
  };
}

/**
 * How many results a store call returned: a list's length, or for recall's
 * candidates ({vector, lexical}) the distinct memories in either list.
 */
function resultCount(settled: unknown): number | undefined {
  if (Array.isArray(settled)) return settled.length;
  if (typeof settled !== "object" || settled === null) return undefined;
  const { vector, lexical } = settled as { vector?: unknown; lexical?: unknown };
  if (!Array.isArray(vector) || !Array.isArray(lexical)) return undefined;
  const ids = new Set<unknown>();
  for (const hit of [...vector, ...lexical]) ids.add((hit as { record?: { id?: unknown } }).record?.id);
  return ids.size;
}
