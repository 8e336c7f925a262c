import type { IncomingMessage, ServerResponse } from "node:http";
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { DescService } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { NetworkLimits } from "../domain/network-limits.js";
import type { NetworkRefusal, NetworkRefusals } from "./network-refusals.js";

export interface StreamGuardOptions {
  readonly limits: NetworkLimits;
  readonly refusals: NetworkRefusals;
  /** Open calls needing no credentials per remote address (the global cap is in `limits`). */
  readonly unauthenticatedCallsPerPeer: number;
  /** Whether a path ("/package.Service/Method") is served without credentials. */
  readonly isUnauthenticated: (path: string) => boolean;
  /** Whether a path's request is a stream (client or bidi streaming): it has no body deadline. */
  readonly isStreamingRequest: (path: string) => boolean;
  /**
   * Checks a native gRPC call's credentials on its headers, before a byte of
   * its body is read; returns the refusal, if any. (connect-node runs its
   * request gate before reading the body already.)
   */
  readonly preAuthenticate?: (
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
  ) => { code: Code; message: string } | undefined;
}

/**
 * Admits each HTTP/2 stream of the RPC port, or refuses it, and bounds what
 * an admitted one may hold:
 * - a cap on open streams in total, and on calls needing no credentials per
 *   address and in total (a flood from 80 addresses cannot add up past it);
 * - native gRPC calls authenticated on their headers, before their body;
 * - the request body received whole within the body timeout, and request
 *   bytes buffered across all calls under a budget;
 * - a response the client stops reading (a zero flow-control window) cut
 *   off after the slow-reader timeout, its buffers released.
 * A refusal never touches a stream that is already gone: a stream can be
 * reset by its peer before the server sees it.
 */
export class StreamGuard {
  private open = 0;
  private buffered = 0;
  private readonly unauthenticated: UnauthenticatedCalls;
  private readonly writers = new Map<ServerHttp2Stream, { length: number; since: number }>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: StreamGuardOptions) {
    this.unauthenticated = new UnauthenticatedCalls(
      options.unauthenticatedCallsPerPeer,
      options.limits.maxUnauthenticatedCalls,
    );
  }

  /** True if the stream may be served; otherwise it has been answered (or was already gone). */
  admit(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, isNativeGrpc: boolean): boolean {
    // Reset by the peer between its HEADERS frame and this event: nothing to answer, nothing to count.
    if (stream.destroyed || stream.closed) return false;
    const path = String(headers[constants.HTTP2_HEADER_PATH] ?? "");
    const contentType = headers[constants.HTTP2_HEADER_CONTENT_TYPE] as string | undefined;
    if (this.open >= this.options.limits.maxStreams) {
      return this.refuse(stream, contentType, "streams", Code.ResourceExhausted, tooManyStreams);
    }
    if (this.options.isUnauthenticated(path)) {
      const peer = stream.session?.socket?.remoteAddress ?? "";
      const refused = this.unauthenticated.admit(peer);
      if (refused) return this.refuse(stream, contentType, refused, Code.ResourceExhausted, tooManyUnauthenticated);
      stream.once("close", () => this.unauthenticated.release(peer));
    } else if (isNativeGrpc && this.options.preAuthenticate) {
      const refusal = this.options.preAuthenticate(stream, headers);
      if (refusal) return this.refuse(stream, contentType, undefined, refusal.code, refusal.message);
    }
    this.open++;
    stream.once("close", () => this.open--);
    if (!this.options.isStreamingRequest(path)) this.boundBody(stream, isNativeGrpc);
    this.watchWrites(stream);
    return true;
  }

  /**
   * The request must arrive whole within the body timeout. A native gRPC
   * request's bytes also count against the shared budget until it has
   * arrived: grpc-js holds a message whole before its handler runs. (Node's
   * compatibility layer, which serves Connect, starts reading only when
   * asked, so a "data" listener here would lose its first chunks; connect
   * reads a body only after its request gate.)
   */
  private boundBody(stream: ServerHttp2Stream, countBytes: boolean): void {
    let held = 0;
    const release = () => {
      this.buffered -= held;
      held = 0;
      clearTimeout(timer);
      stream.off("data", onData);
    };
    const onData = (chunk: Buffer) => {
      held += chunk.length;
      this.buffered += chunk.length;
      if (this.buffered > this.options.limits.maxBufferedRequestBytes) {
        release();
        this.cut(stream, "buffered-bytes", constants.NGHTTP2_ENHANCE_YOUR_CALM);
      }
    };
    const timer = setTimeout(() => {
      release();
      this.cut(stream, "body-timeout", constants.NGHTTP2_CANCEL);
    }, this.options.limits.bodyTimeoutMs);
    timer.unref();
    // grpc-js adds its own listener and pauses the stream in the same tick: no chunk is missed.
    if (countBytes) stream.on("data", onData);
    stream.once("end", release);
    stream.once("close", release);
  }

  /**
   * Remembers the stream for the slow-reader sweep: a response with bytes
   * waiting to be sent whose waiting amount has not moved for the timeout
   * is a client that stopped reading (or set a zero window).
   */
  private watchWrites(stream: ServerHttp2Stream): void {
    this.writers.set(stream, { length: 0, since: 0 });
    stream.once("close", () => {
      this.writers.delete(stream);
      if (this.writers.size === 0 && this.sweeper) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    });
    this.sweeper ??= setInterval(
      () => this.sweep(performance.now()),
      Math.max(25, Math.min(1000, this.options.limits.slowReaderTimeoutMs / 4)),
    ).unref();
  }

  private sweep(now: number): void {
    for (const [stream, seen] of this.writers) {
      const length = stream.writableLength;
      if (length === 0 || length !== seen.length) {
        seen.length = length;
        seen.since = now;
      } else if (now - seen.since >= this.options.limits.slowReaderTimeoutMs) {
        this.writers.delete(stream);
        this.cut(stream, "slow-reader", constants.NGHTTP2_CANCEL);
      }
    }
  }

  /**
   * The HTTP/1.1 side of the caps on calls needing no credentials: true if
   * the request may be served, otherwise it has been answered.
   */
  admitHttp1(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.options.isUnauthenticated(req.url ?? "")) return true;
    const peer = req.socket.remoteAddress ?? "";
    const refused = this.unauthenticated.admit(peer);
    if (refused) {
      this.options.refusals.record("rpc", refused);
      const refusal = refusalFor(req.headers["content-type"], Code.ResourceExhausted, tooManyUnauthenticated);
      res.writeHead(refusal.status, refusal.headers).end(refusal.body);
      return false;
    }
    res.once("close", () => this.unauthenticated.release(peer));
    return true;
  }

  /** Resets an admitted stream; its handler sees the call cancelled and its buffers go with the stream. */
  private cut(stream: ServerHttp2Stream, reason: NetworkRefusal, code: number): void {
    if (stream.destroyed) return;
    this.options.refusals.record("rpc", reason);
    stream.close(code);
  }

  private refuse(
    stream: ServerHttp2Stream,
    contentType: string | undefined,
    reason: NetworkRefusal | undefined,
    code: Code,
    message: string,
  ): false {
    if (reason) this.options.refusals.record("rpc", reason);
    respondRefusal(stream, contentType, code, message);
    // The body is never read: discarded as it comes (flow control would otherwise stall it
    // with its window's worth held), and the stream reset if the client keeps sending.
    stream.resume();
    const timer = setTimeout(
      () => stream.destroyed || stream.close(constants.NGHTTP2_CANCEL),
      this.options.limits.bodyTimeoutMs,
    );
    timer.unref();
    stream.once("close", () => clearTimeout(timer));
    return false;
  }
}

const tooManyStreams = "the server has too many calls open (ENGRAM_NET_MAX_STREAMS); retry later";
const tooManyUnauthenticated =
  "too many open calls without credentials (health, reflection) from this address or in total; close some";

/**
 * Answers a stream before any handler: a trailers-only response for gRPC and
 * gRPC-Web, an error body for Connect. Only on a stream that can still take
 * a response; the stream's errors (the peer resetting it meanwhile) are
 * swallowed, since no handler owns it.
 */
export function respondRefusal(
  stream: ServerHttp2Stream,
  contentType: string | undefined,
  code: Code,
  message: string,
): void {
  stream.on("error", () => {});
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  const refusal = refusalFor(contentType, code, message);
  stream.respond({ ":status": refusal.status, ...refusal.headers }, { endStream: refusal.body === "" });
  if (refusal.body !== "") stream.end(refusal.body);
}

const connectCodes: Partial<Record<Code, { name: string; status: number }>> = {
  [Code.ResourceExhausted]: { name: "resource_exhausted", status: 429 },
  [Code.Unauthenticated]: { name: "unauthenticated", status: 401 },
  [Code.PermissionDenied]: { name: "permission_denied", status: 403 },
};

/** A refusal in the caller's protocol. */
export function refusalFor(
  contentType: string | undefined,
  code: Code,
  message: string,
): { status: number; headers: Record<string, string>; body: string } {
  if (contentType?.startsWith("application/grpc")) {
    return {
      status: 200,
      headers: {
        "content-type": contentType,
        "grpc-status": String(code),
        "grpc-message": encodeURIComponent(message),
      },
      body: "",
    };
  }
  const connect = connectCodes[code] ?? { name: "unavailable", status: 503 };
  return {
    status: connect.status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: connect.name, message }),
  };
}

/** Open calls needing no credentials, per remote address and in total, admitted up to both caps. */
export class UnauthenticatedCalls {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly perPeer: number,
    private readonly cap: number,
  ) {}

  /** Undefined when admitted; otherwise which cap refused it. */
  admit(peer: string): "unauthenticated-per-peer" | "unauthenticated-total" | undefined {
    if (this.total >= this.cap) return "unauthenticated-total";
    const count = this.open.get(peer) ?? 0;
    if (count >= this.perPeer) return "unauthenticated-per-peer";
    this.open.set(peer, count + 1);
    this.total++;
    return undefined;
  }

  release(peer: string): void {
    const count = this.open.get(peer);
    if (count === undefined) return;
    this.total--;
    if (count <= 1) this.open.delete(peer);
    else this.open.set(peer, count - 1);
  }
}

/** The paths ("/package.Service/Method") whose request is a stream: client or bidi streaming. */
export function streamingRequestPaths(services: readonly { readonly service: DescService }[]): ReadonlySet<string> {
  return new Set(
    services.flatMap(({ service }) =>
      service.methods
        .filter((m) => m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming")
        .map((m) => `/${service.typeName}/${m.name}`),
    ),
  );
}
