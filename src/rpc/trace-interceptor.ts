import { Code, type Interceptor } from "@connectrpc/connect";
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type TextMapGetter,
} from "@opentelemetry/api";
import { tracer } from "../observability/spans.js";
import { toConnectError } from "./error-mapping.js";
import { genAiRequestAttributes, genAiResponseAttributes } from "./genai-memory-attributes.js";
import { methodLabel } from "./observe-interceptor.js";

/** Reads trace context (traceparent, tracestate, baggage) from request headers. */
export const headersGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/**
 * A server span per RPC, continuing the caller's trace (W3C traceparent) on
 * every protocol the router serves. Streaming responses run each step inside
 * the span, so the spans of the work they do are its children. Attributes
 * carry the call's ids (namespace, user, session, task, memory), never
 * content, and, for memory operations, the OpenTelemetry GenAI memory
 * attributes (genai-memory-attributes.ts).
 */
export function traceInterceptor(): Interceptor {
  return (next) => async (req) => {
    const method = methodLabel(req.service.typeName, req.method.name);
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headersGetter);
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": "grpc",
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
          "engram.protocol": protocolOf(req.url, req.header.get("content-type") ?? ""),
          ...(req.stream ? {} : requestIds(req.message)),
          ...(req.stream ? {} : genAiRequestAttributes(req.method.name, req.message)),
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    let res;
    try {
      res = await context.with(active, () => next(req));
    } catch (error) {
      throw end(span, error, req.signal);
    }
    if (!res.stream) {
      span.setAttributes(genAiResponseAttributes(req.method.name, res.message));
      end(span, undefined, req.signal);
      return res;
    }
    const source = res.message[Symbol.asyncIterator]();
    return {
      ...res,
      message: (async function* () {
        let messages = 0;
        try {
          for (;;) {
            const step = await context.with(active, () => source.next());
            if (step.done) break;
            messages += 1;
            yield step.value;
          }
        } catch (error) {
          span.setAttribute("rpc.messages_sent", messages);
          throw end(span, error, req.signal);
        }
        span.setAttribute("rpc.messages_sent", messages);
        end(span, undefined, req.signal);
      })(),
    };
  };
}

function end(span: Span, error: unknown, signal: AbortSignal): unknown {
  if (error === undefined) {
    span.setAttribute("rpc.grpc.status_code", 0);
  } else {
    const mapped = toConnectError(error, signal);
    span.setAttribute("rpc.grpc.status_code", mapped.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: Code[mapped.code] });
  }
  span.end();
  return error;
}

/**
 * The protocol: "mcp" for the MCP front door (its in-process calls' URL is
 * "mcp:/…"), else from the content type; the native gRPC path (grpc-js)
 * passes none on.
 */
function protocolOf(url: string, contentType: string): string {
  if (url.startsWith("mcp:")) return "mcp";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  return contentType === "" || contentType.startsWith("application/grpc") ? "grpc" : "connect";
}

/** The ids a request names: its scope and the session, task or memory it is about. */
function requestIds(message: unknown): Attributes {
  const m = message as {
    scope?: { namespace?: string; userId?: string };
    sessionId?: string;
    taskId?: string;
    memoryId?: string;
  };
  const attributes: Attributes = {};
  if (m.scope?.namespace) attributes["engram.namespace"] = m.scope.namespace;
  if (m.scope?.userId) attributes["engram.user_id"] = m.scope.userId;
  if (m.sessionId) attributes["engram.session_id"] = m.sessionId;
  if (m.taskId) attributes["engram.task_id"] = m.taskId;
  if (m.memoryId) attributes["engram.memory_id"] = m.memoryId;
  return attributes;
}
