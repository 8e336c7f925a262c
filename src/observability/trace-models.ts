import { SpanKind } from "@opentelemetry/api";
import type { Embedder, Summariser } from "../domain/models.js";
import type { GateClassifier } from "../domain/write-gate.js";
import { inSpan } from "./spans.js";

/**
 * Child spans for every model call an RPC makes (embedding, summarising,
 * classifying); the stores' spans are made by observe-stores.ts. Attributes
 * carry counts, never content.
 */
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
