import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import type { TracingConfig } from "../config.js";

/**
 * OpenTelemetry traces. The code creates spans through @opentelemetry/api
 * only (`tracer` in spans.ts); without a registered provider they cost next
 * to nothing and go nowhere. `startTracing` registers the SDK when the
 * standard OTEL_* variables ask for it (see `readTracing` in config.ts).
 */

export interface Tracing {
  /** Exports what is buffered and stops; call on shutdown. */
  shutdown(): Promise<void>;
}

/** Registers the SDK with the configured exporters, or returns undefined when tracing is off. */
export function startTracing(config: TracingConfig): Tracing | undefined {
  if (config.exporters.length === 0) return undefined;
  return installTracing({
    serviceName: config.serviceName,
    resourceAttributes: config.resourceAttributes,
    sampler: samplerFor(config.sampler, config.samplerRatio),
    spanProcessors: config.exporters.map(
      (name) =>
        new BatchSpanProcessor({
          exporter:
            name === "otlp"
              ? new OTLPTraceExporter(config.otlpTracesUrl ? { url: config.otlpTracesUrl } : {})
              : new ConsoleSpanExporter(),
        }),
    ),
  });
}

/**
 * Registers a tracer provider, the W3C trace-context and baggage propagators
 * and an AsyncLocalStorage context manager for this process. Tests pass an
 * in-memory exporter's processor.
 */
export function installTracing(options: {
  spanProcessors: SpanProcessor[];
  sampler?: Sampler;
  serviceName?: string;
  resourceAttributes?: Readonly<Record<string, string>>;
}): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...options.resourceAttributes,
      "service.name": options.serviceName ?? "engram",
    }),
    spanProcessors: options.spanProcessors,
    ...(options.sampler ? { sampler: options.sampler } : {}),
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  return {
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

function samplerFor(name: TracingConfig["sampler"], ratio: number): Sampler {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
