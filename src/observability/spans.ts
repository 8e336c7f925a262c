import {
  INVALID_SPAN_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type SpanKind,
  type Tracer,
} from "@opentelemetry/api";
import { EngramError } from "../domain/errors.js";

/**
 * Making spans: a leaf module on @opentelemetry/api (and the domain's error
 * kinds), so any layer, storage adapters included, can trace its work without
 * pulling in the SDK set-up in tracing.ts or the configuration it reads.
 * Without a registered provider spans cost next to nothing and go nowhere.
 *
 * Spans are made only under a span already active (a call's server span):
 * background work on timers (access-statistics flushes, learning from
 * sessions) would otherwise start a trace of its own every poll, idle or not.
 */
export const tracer: Tracer = trace.getTracer("engram", "0.1.0");

/** Whether a span is active here, i.e. this work is part of a traced call. */
export function traced(): boolean {
  return trace.getActiveSpan() !== undefined;
}

/** Runs `work` in a span named `name`; records failure kinds, not messages that might quote input. */
export async function inSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (!traced()) return work(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks `span` failed with the error's kind, not its message (which might quote input). */
export function markFailed(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof EngramError ? error.kind : "internal" });
}

export function fail(span: Span, error: unknown): unknown {
  markFailed(span, error);
  span.end();
  return error;
}
