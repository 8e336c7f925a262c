import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { fromBinary, toBinary, type DescMessage, type DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createHandlerContext,
  createMethodImplSpec,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type ServiceImpl,
} from "@connectrpc/connect";
import {
  createAsyncIterable,
  invokeUnaryImplementation,
  transformInvokeImplementation,
} from "@connectrpc/connect/protocol";
import * as grpc from "@grpc/grpc-js";
import { toConnectError } from "./error-mapping.js";

/** A service and the one implementation every transport serves. */
export interface ServedService {
  readonly service: DescService;
  readonly impl: Readonly<Record<string, unknown>>;
}

export function served<S extends DescService>(service: S, impl: ServiceImpl<S>): ServedService {
  return { service, impl };
}

/** What every kind of grpc-js server call offers (grpc-js does not export the type). */
type SurfaceCall = Pick<
  grpc.ServerUnaryCall<unknown, unknown>,
  "getDeadline" | "getPath" | "metadata" | "sendMetadata" | "getAuthContext" | "getPeer" | "cancelled"
> &
  NodeJS.EventEmitter;

export interface NativeGrpcOptions {
  readonly services: readonly ServedService[];
  /** The same interceptors connect-node runs, in the same order. */
  readonly interceptors: Interceptor[];
  /** The same gate connect-node runs before the request body is read. */
  readonly requestGate: (ctx: HandlerContext) => void;
  /** Per-call values (e.g. the verified client certificate's CN). */
  readonly contextValues: (call: SurfaceCall) => ContextValues;
  /** A longer client deadline is clamped to this, not refused (as clampDeadline does for every transport). */
  readonly maxTimeoutMs: number;
  readonly readMaxBytes: number;
  /** Aborts every call in flight when the server gives up draining. */
  readonly shutdownSignal: AbortSignal;
  /**
   * Told of each request refused before any handler or interceptor saw it:
   * one that could not be decoded (answered INVALID_ARGUMENT), or one over
   * `readMaxBytes` (RESOURCE_EXHAUSTED from grpc-js).
   */
  readonly refused?: (method: string, code: Code, reason: string) => void;
}

/** Serves a gRPC stream (content-type application/grpc) handed over by the listener. */
export type NativeStreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

/**
 * Native gRPC on @grpc/grpc-js for the hot path: grpc-js frames the calls,
 * protobuf-es (de)serialises, and connect's own invoker runs the SAME service
 * implementations through the SAME interceptors and request gate as the
 * connect-node adapter (Connect, gRPC-Web). Nothing here decides policy: it
 * only carries headers, deadline, cancellation and status across.
 *
 * The listener owns the HTTP/2 sessions (one port for every protocol) and
 * hands each gRPC stream to grpc-js's stream handler; grpc-js offers no
 * public per-stream entry point, so that one call is the private
 * `_streamHandler` of the pinned version, covered by every e2e test that runs
 * over the native path.
 */
export function nativeGrpcStreamHandler(options: NativeGrpcOptions): NativeStreamHandler {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.readMaxBytes,
    // Errors carry our own messages; grpc-js's stack traces stay out of the wire.
  });
  for (const { service, impl } of options.services) {
    const definition: Record<string, grpc.MethodDefinition<Buffer, Uint8Array>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of service.methods) {
      const methodImpl = impl[method.localName];
      if (!methodImpl) continue;
      const spec = createMethodImplSpec(method, methodImpl as never);
      // Bytes in and out: decoding here turns a malformed request into INVALID_ARGUMENT, not grpc-js's INTERNAL.
      definition[method.localName] = {
        path: `/${service.typeName}/${method.name}`,
        requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
        responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
        requestDeserialize: (bytes: Buffer) => bytes,
        requestSerialize: (bytes: Buffer) => bytes,
        responseSerialize: (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        responseDeserialize: (bytes: Buffer) => bytes,
        originalName: method.name,
      };
      implementation[method.localName] = callHandler(spec, options);
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
  }
  const streamHandler = (server as unknown as { _streamHandler: Function })._streamHandler;
  if (typeof streamHandler !== "function") {
    throw new Error("@grpc/grpc-js changed: Server._streamHandler is gone (check the pinned version)");
  }
  return (stream, headers) => {
    if (options.refused) watchOversized(stream, String(headers[":path"] ?? "").slice(1), options.refused);
    streamHandler.call(server, [], stream, headers);
  };
}

/**
 * grpc-js answers a request over its receive limit itself, before any
 * handler runs, with a trailers-only RESOURCE_EXHAUSTED: seen here, on the
 * stream, so that it is counted and logged like any other refusal.
 */
function watchOversized(stream: ServerHttp2Stream, method: string, refused: NonNullable<NativeGrpcOptions["refused"]>) {
  const respond = stream.respond;
  stream.respond = function (this: ServerHttp2Stream, headers, options) {
    const fields = (Array.isArray(headers) ? {} : (headers ?? {})) as Record<string, unknown>;
    if (String(fields["grpc-status"]) === String(grpc.status.RESOURCE_EXHAUSTED)) {
      // grpc-js sends its message encodeURI'd.
      const message = decodeURI(String(fields["grpc-message"] ?? ""));
      if (/larger than/.test(message)) refused(method, Code.ResourceExhausted, message);
    }
    return respond.call(this, headers, options);
  };
}

type Spec = ReturnType<typeof createMethodImplSpec>;

/**
 * A finished call's context is aborted to release its signal's listeners
 * (connect links it to the shutdown signal); one shared reason, because
 * abort() without one builds a DOMException with a stack trace per call.
 */
const finished = new ConnectError("the call has finished", Code.Canceled);

function callHandler(spec: Spec, options: NativeGrpcOptions): grpc.UntypedHandleCall {
  const method = spec.method;
  const label = `${method.parent.typeName}/${method.name}`;
  const decode = (bytes: Buffer) => {
    try {
      return fromBinary(method.input, bytes);
    } catch (error) {
      options.refused?.(label, Code.InvalidArgument, error instanceof Error ? error.message : String(error));
      throw new ConnectError(
        `the request is not a valid ${method.input.typeName} (${error instanceof Error ? error.message : String(error)})`,
        Code.InvalidArgument,
      );
    }
  };
  const encode = (message: unknown) => toBinary(method.output as DescMessage, message as never);

  switch (spec.kind) {
    case "unary":
      return (call: grpc.ServerUnaryCall<Buffer, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>) => {
        const ctx = contextOf(spec, call, options);
        (async () => {
          options.requestGate(ctx);
          const output = await invokeUnaryImplementation(
            spec,
            ctx,
            decode(call.request) as never,
            options.interceptors,
          );
          return encode(output);
        })().then(
          (bytes) => {
            sendHeader(call, ctx);
            callback(null, bytes, trailerOf(ctx.responseTrailer));
            ctx.abort(finished);
          },
          (error: unknown) => {
            callback(statusOf(error, ctx));
            ctx.abort(finished);
          },
        );
      };
    case "server_streaming":
    case "bidi_streaming":
      return (call: grpc.ServerWritableStream<Buffer, Uint8Array> | grpc.ServerDuplexStream<Buffer, Uint8Array>) => {
        const ctx = contextOf(spec, call, options);
        (async () => {
          options.requestGate(ctx);
          const input =
            spec.kind === "server_streaming"
              ? createAsyncIterable([decode((call as grpc.ServerWritableStream<Buffer, Uint8Array>).request)])
              : decodeEach(call as grpc.ServerDuplexStream<Buffer, Uint8Array>, decode);
          let headerSent = false;
          for await (const message of transformInvokeImplementation(spec, ctx, options.interceptors)(input as never)) {
            if (!headerSent) headerSent = sendHeader(call, ctx);
            if (!call.write(encode(message))) await drained(call, ctx.signal);
            if (call.cancelled) return;
          }
          call.end(trailerOf(ctx.responseTrailer));
        })().then(
          () => ctx.abort(finished),
          (error: unknown) => {
            if (!call.cancelled) call.emit("error", statusOf(error, ctx));
            ctx.abort(finished);
          },
        );
      };
    case "client_streaming":
      return (call: grpc.ServerReadableStream<Buffer, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>) => {
        const ctx = contextOf(spec, call, options);
        (async () => {
          options.requestGate(ctx);
          const outputs = transformInvokeImplementation(
            spec,
            ctx,
            options.interceptors,
          )(decodeEach(call, decode) as never);
          let output: unknown;
          for await (const message of outputs) output = message;
          return encode(output);
        })().then(
          (bytes) => {
            callback(null, bytes, trailerOf(ctx.responseTrailer));
            ctx.abort(finished);
          },
          (error: unknown) => {
            callback(statusOf(error, ctx));
            ctx.abort(finished);
          },
        );
      };
  }
}

/**
 * connect's handler context for a grpc-js call: request metadata as headers,
 * the client's deadline clamped to the maximum, and cancellation by the
 * client as CANCELLED.
 */
function contextOf(spec: Spec, call: SurfaceCall, options: NativeGrpcOptions) {
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const timeoutMs = Number.isFinite(deadlineMs)
    ? Math.min(Math.max(0, deadlineMs - Date.now()), options.maxTimeoutMs)
    : undefined;
  const ctx = createHandlerContext({
    service: spec.method.parent,
    method: spec.method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: call.getPath(),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    shutdownSignal: options.shutdownSignal,
    requestHeader: headersOf(call.metadata),
    contextValues: options.contextValues(call),
  });
  // grpc-js also reports a stream closed after its status was sent: only a call still running was cancelled.
  call.once("cancelled", () => {
    if (!ctx.signal.aborted) ctx.abort(new ConnectError("the client cancelled the call", Code.Canceled));
  });
  return ctx;
}

function headersOf(metadata: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(metadata.getMap())) {
    headers.append(key, typeof value === "string" ? value : value.toString("base64"));
  }
  return headers;
}

function metadataOf(headers: Headers): grpc.Metadata {
  const metadata = new grpc.Metadata();
  headers.forEach((value, key) => {
    metadata.add(key, key.endsWith("-bin") ? Buffer.from(value, "base64") : value);
  });
  return metadata;
}

function trailerOf(headers: Headers): grpc.Metadata | undefined {
  return headers.keys().next().done ? undefined : metadataOf(headers);
}

/** Sends response headers a handler or interceptor set, if any; true once sent. */
function sendHeader(call: SurfaceCall, ctx: HandlerContext): boolean {
  if (ctx.responseHeader.keys().next().done) return false;
  call.sendMetadata(metadataOf(ctx.responseHeader));
  return true;
}

/** The status a failure is answered with: the one mapping, its metadata as trailers. */
function statusOf(error: unknown, ctx: HandlerContext): Partial<grpc.StatusObject> {
  const mapped = toConnectError(error, ctx.signal);
  const metadata = metadataOf(ctx.responseTrailer);
  mapped.metadata.forEach((value, key) => metadata.set(key, value));
  return { code: mapped.code as number as grpc.status, details: mapped.rawMessage, metadata };
}

async function* decodeEach(stream: AsyncIterable<unknown>, decode: (bytes: Buffer) => unknown) {
  for await (const bytes of stream) yield decode(bytes as Buffer);
}

function drained(call: NodeJS.EventEmitter, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
