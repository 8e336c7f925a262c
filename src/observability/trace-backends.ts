import { context, SpanKind, trace, type Attributes } from "@opentelemetry/api";
import type { Embedder, Summariser } from "../domain/models.js";
import type { Stores, UserWriteLock } from "../domain/ports.js";
import type { Scope } from "../domain/types.js";
import type { GateClassifier } from "../domain/write-gate.js";
import { fail, inSpan, traced, tracer } from "./spans.js";

/**
 * Child spans for the work an RPC does outside the process: every store
 * operation (a Redis script, a Weaviate query or batch, a SQLite
 * transaction), every model call, and the wait for a user's write lock.
 * Attributes carry ids and counts, never content.
 *
 * Spans are made only under a span already active (a call's server span):
 * background work on timers (access-statistics flushes, learning from
 * sessions) would otherwise start a trace of its own every poll, idle or not.
 */

export function traceStores(stores: Stores): Stores {
  return {
    ...stores,
    sessions: traceMethods(stores.sessions, stores.backends.sessions, "sessions"),
    working: traceMethods(stores.working, stores.backends.working, "working"),
    longTerm: traceMethods(stores.longTerm, stores.backends.longTerm, "long_term"),
    ...(stores.userWriteLock ? { userWriteLock: traceLock(stores.userWriteLock) } : {}),
  };
}

/** Wraps every promise-returning method: a span `<backend> <tier>.<method>` with the count of what it returned. */
function traceMethods<T extends object>(target: T, backend: string, tier: string): T {
  const kind = backend === "embedded" ? SpanKind.INTERNAL : SpanKind.CLIENT;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      // Streams (async generators) pass through: their work happens as the caller iterates. Bound to
      // the store itself, so the generator's own calls (this.tenant(), ...) are not wrapped into promises.
      if (value.constructor.name === "AsyncGeneratorFunction") return value.bind(object);
      return (...args: unknown[]) => {
        if (!traced()) return value.apply(object, args);
        const scope = args[0] as Partial<Scope> | undefined;
        const attributes: Attributes = { "engram.backend": backend, "engram.tier": tier, "engram.operation": property };
        if (typeof scope?.namespace === "string") attributes["engram.namespace"] = scope.namespace;
        if (typeof scope?.userId === "string") attributes["engram.user_id"] = scope.userId;
        const span = tracer.startSpan(`${backend} ${tier}.${property}`, { kind, attributes });
        let result: unknown;
        try {
          result = context.with(trace.setSpan(context.active(), span), () => value.apply(object, args));
        } catch (error) {
          throw fail(span, error);
        }
        // A synchronous method stays synchronous.
        if (!(result instanceof Promise)) return (span.end(), result);
        return result.then(
          (settled: unknown) => {
            if (Array.isArray(settled)) span.setAttribute("engram.result_count", settled.length);
            span.end();
            return settled;
          },
          (error: unknown) => {
            throw fail(span, error);
          },
        );
      };
    },
  });
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

export function traceModels<M extends { embedder: Embedder; summariser: Summariser; classifier: GateClassifier }>(
  models: M,
  provider: string,
): M {
  const { embedder, summariser, classifier } = models;
  const model = { "engram.model_provider": provider };
  return {
    ...models,
    embedder: override(embedder, {
      embed: (texts: readonly string[], signal?: AbortSignal) =>
        inSpan(
          "engram model.embed",
          SpanKind.CLIENT,
          { ...model, "engram.input_count": texts.length, "engram.dimensions": embedder.dimensions },
          () => embedder.embed(texts, signal),
        ),
    }),
    summariser: override(summariser, {
      summarise: (...args: Parameters<Summariser["summarise"]>) =>
        inSpan(
          "engram model.summarise",
          SpanKind.CLIENT,
          { ...model, "engram.input_count": args[1].length, "engram.max_tokens": args[2] },
          () => summariser.summarise(...args),
        ),
    }),
    classifier: override(classifier, {
      classify: (...args: Parameters<GateClassifier["classify"]>) =>
        inSpan(
          "engram model.classify",
          SpanKind.CLIENT,
          { ...model, "engram.input_count": args[0].length },
          async (span) => {
            const result = await classifier.classify(...args);
            span.setAttribute("engram.result_count", result.length);
            return result;
          },
        ),
    }),
  };
}

/** `target` with some methods replaced; everything else (identity, dimensions, ...) read from it as it is. */
function override<T extends object>(target: T, methods: Partial<T>): T {
  return new Proxy(target, {
    get: (object, property) =>
      Object.hasOwn(methods, property) ? methods[property as keyof T] : Reflect.get(object, property, object),
  });
}
