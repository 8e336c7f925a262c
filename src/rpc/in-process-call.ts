import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createHandlerContext,
  createMethodImplSpec,
  type ContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import {
  createAsyncIterable,
  invokeUnaryImplementation,
  transformInvokeImplementation,
} from "@connectrpc/connect/protocol";
import type { ServedService } from "./native-grpc.js";

/** One call made from inside the process, e.g. by an MCP tool. */
export interface InProcessRequest {
  readonly method: DescMethod;
  /** The request message (protobuf-es). */
  readonly input: unknown;
  /** Cancels the call (the front door's own request ended). */
  readonly signal: AbortSignal;
  /** Headers the interceptors read: trace context (traceparent, tracestate, baggage). */
  readonly header?: Headers;
  /** Per-call values, e.g. the authenticated caller. */
  readonly contextValues?: ContextValues;
}

/** Runs one call through the pipeline: a unary method's response, or a streaming method's messages in order. */
export type CallInProcess = (request: InProcessRequest) => Promise<unknown>;

/**
 * The request pipeline for front doors that are not HTTP/2 transports (MCP
 * over HTTP and stdio): the SAME service implementation through the SAME
 * interceptors (tracing, metrics and logging, error mapping, the deadline
 * cap) that connect-node and the native gRPC bridge run, in the same order.
 * Such a caller cannot send a deadline, so each call gets the server's
 * maximum (ENGRAM_MAX_DEADLINE_SECONDS) as its deadline: the cap every
 * gRPC client's own deadline is clamped to.
 */
export function inProcessCaller(
  { service, impl }: ServedService,
  interceptors: Interceptor[],
  options: {
    /** The deadline of every call: the server's maximum. */
    readonly maxTimeoutMs: number;
    /** Names the front door in traces (`engram.protocol`) and in the call's URL. */
    readonly protocolName: string;
    /** Aborts every call in flight when the server gives up draining. */
    readonly shutdownSignal?: AbortSignal;
  },
): CallInProcess {
  const specs = new Map(
    service.methods.flatMap((method) => {
      const methodImpl = impl[method.localName];
      return methodImpl ? [[method, createMethodImplSpec(method, methodImpl as never)] as const] : [];
    }),
  );
  return async ({ method, input, signal, header, contextValues }) => {
    const spec = specs.get(method);
    if (!spec || method.parent !== (service as DescService)) {
      throw new ConnectError(`${method.parent.typeName}/${method.name} is not served`, Code.Unimplemented);
    }
    const ctx = createHandlerContext({
      service,
      method,
      protocolName: options.protocolName,
      requestMethod: "POST",
      url: `${options.protocolName}:/${service.typeName}/${method.name}`,
      timeoutMs: options.maxTimeoutMs,
      requestSignal: signal,
      ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
      ...(header ? { requestHeader: header } : {}),
      ...(contextValues ? { contextValues } : {}),
    });
    try {
      switch (spec.kind) {
        case "unary":
          return await invokeUnaryImplementation(spec, ctx, input as never, interceptors);
        case "server_streaming": {
          const messages: unknown[] = [];
          const stream = transformInvokeImplementation(spec, ctx, interceptors)(createAsyncIterable([input]) as never);
          for await (const message of stream) messages.push(message);
          return messages;
        }
        default:
          throw new ConnectError(`${method.name}: ${spec.kind} calls are not served in process`, Code.Unimplemented);
      }
    } finally {
      // Releases the deadline timer and the signal's listeners.
      ctx.abort(finished);
    }
  };
}

/** One shared reason: abort() without one builds a DOMException with a stack trace per call. */
const finished = new ConnectError("the call has finished", Code.Canceled);
