import { toBinary } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient, type Client, type Interceptor, type UnaryRequest } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { randomUUID } from "node:crypto";
import { context, propagation } from "@opentelemetry/api";
import { MemoryService, type AppendMessagesRequest } from "./gen/engram/v1/memory_service_pb.js";
import { Code, EngramError } from "./engram-error.js";

export * from "./gen/engram/v1/assembly_pb.js";
export * from "./gen/engram/v1/long_term_pb.js";
export * from "./gen/engram/v1/memory_service_pb.js";
export * from "./gen/engram/v1/scope_pb.js";
export * from "./gen/engram/v1/short_term_pb.js";
export * from "./gen/engram/v1/working_pb.js";
export { Code, EngramError };

export interface EngramClientOptions {
  /** The server, e.g. "http://engram:50051" (h2c) or "https://…". */
  readonly baseUrl: string;
  /** Sent as "authorization: Bearer <token>" with every call. */
  readonly token?: string;
  /** Deadline of calls that set none themselves; default 10 s. */
  readonly timeoutMs?: number;
  /** Retries of idempotent calls (and appends, which carry a key) failing with UNAVAILABLE, with backoff; default 2. */
  readonly retries?: number;
  /** First backoff delay, doubling per retry; default 100 ms. */
  readonly backoffMs?: number;
}

/**
 * The largest request the server accepts (its documented 4 MiB limit). A
 * larger one is refused here, before it is sent, with RESOURCE_EXHAUSTED:
 * sent, it would overflow the HTTP/2 session's buffer, and Node would end
 * the session (ENHANCE_YOUR_CALM) under every other call on it.
 */
export const maxRequestBytes = 4 * 1024 * 1024;

/** A typed MemoryService client: one method per RPC; AssembleContext is an async iterator. */
export type EngramClient = Client<typeof MemoryService>;

/** Connects to Engram over gRPC (HTTP/2). */
export function createEngramClient(options: EngramClientOptions): EngramClient {
  const interceptors: Interceptor[] = [
    retries(options.retries ?? 2, options.backoffMs ?? 100),
    sizeLimit(),
    traceContext(),
  ];
  if (options.token) interceptors.push(bearer(options.token));
  return withEngramErrors(
    createClient(
      MemoryService,
      createGrpcTransport({
        baseUrl: options.baseUrl,
        defaultTimeoutMs: options.timeoutMs ?? 10_000,
        interceptors,
        writeMaxBytes: maxRequestBytes,
      }),
    ),
  );
}

/**
 * Sends the caller's current OpenTelemetry trace context (W3C `traceparent`,
 * `tracestate`, `baggage`, through the globally registered propagator) with
 * every call, so Engram's server span joins the caller's trace. Without an
 * OpenTelemetry SDK registered in the application, this sends nothing.
 */
function traceContext(): Interceptor {
  return (next) => (req) => {
    propagation.inject(context.active(), req.header, {
      set: (headers, key, value) => headers.set(key, value),
    });
    return next(req);
  };
}

function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

/**
 * Calls a retry cannot turn into a different outcome, as the contract
 * declares them: the unary RPCs whose `idempotency_level` is NO_SIDE_EFFECTS
 * (reads) or IDEMPOTENT (SetWorking, and AppendMessages, which always carries
 * an idempotency key). The others may have applied before the reply was lost;
 * retried, they would store twice or answer NOT_FOUND, so their UNAVAILABLE
 * goes to the caller, who knows whether to check first.
 */
export const retriedMethods: ReadonlySet<string> = new Set(
  MemoryService.methods
    .filter((m) => m.methodKind === "unary" && m.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN)
    .map((m) => m.name),
);

/**
 * Retries UNAVAILABLE only, and only on `retriedMethods`. An append whose
 * reply was lost may have applied, so each AppendMessages call gets an
 * idempotency key (unless the caller set one) that every retry reuses: the
 * server applies it once.
 */
function retries(max: number, backoffMs: number): Interceptor {
  return (next) => async (req) => {
    if (req.stream || !retriedMethods.has(req.method.name)) return next(req);
    const request = withIdempotencyKey(req);
    for (let attempt = 0; ; attempt++) {
      try {
        return await next(request);
      } catch (error) {
        const code = EngramError.fromError(error).code;
        if (code !== Code.Unavailable || attempt >= max || req.signal.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** attempt));
      }
    }
  };
}

/** An AppendMessages request with a key of its own; a new object, so the caller's message is left as it was. */
function withIdempotencyKey(req: UnaryRequest): UnaryRequest {
  if (req.method !== MemoryService.method.appendMessages) return req;
  const message = req.message as AppendMessagesRequest;
  if (message.idempotencyKey !== "") return req;
  const keyed: AppendMessagesRequest = { ...message, idempotencyKey: randomUUID() };
  return { ...req, message: keyed };
}

/**
 * Every failure, unary or mid-stream, surfaces as an EngramError. This wraps
 * the client's methods rather than running as an interceptor, because the
 * transport passes whatever an interceptor throws through
 * `ConnectError.from`, which would turn an EngramError back into a plain
 * ConnectError.
 */
function withEngramErrors(client: EngramClient): EngramClient {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(MemoryService.method)) {
    const call = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
    wrapped[name] =
      method.methodKind === "server_streaming"
        ? async function* (...args: unknown[]) {
            try {
              yield* call(...args) as AsyncIterable<unknown>;
            } catch (error) {
              throw EngramError.fromError(error);
            }
          }
        : async (...args: unknown[]) => {
            try {
              return await call(...args);
            } catch (error) {
              throw EngramError.fromError(error);
            }
          };
  }
  return wrapped as EngramClient;
}

/**
 * Refuses a request over the server's limit before anything is sent. (The
 * transport's writeMaxBytes is the backstop, but it fails the call only once
 * its stream is open.)
 */
function sizeLimit(): Interceptor {
  return (next) => (req) => {
    if (!req.stream) {
      const size = toBinary(req.method.input, req.message).byteLength;
      if (size > maxRequestBytes) {
        throw new ConnectError(
          `the request is ${size} bytes; Engram accepts at most ${maxRequestBytes} bytes (4 MiB) per request: send less per call`,
          Code.ResourceExhausted,
        );
      }
    }
    return next(req);
  };
}
