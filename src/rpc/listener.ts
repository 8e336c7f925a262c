import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from "node:http";
import {
  constants,
  createSecureServer,
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import type { NativeStreamHandler } from "./native-grpc.js";
import { guardHttp1, http1ServerOptions, tlsServerOptions, type ConnectionGuard } from "./connection-guard.js";
import type { NetworkLimits } from "../domain/network-limits.js";
import { watchHttp1Responses } from "./http1-slow-readers.js";
import type { NetworkRefusals } from "./network-refusals.js";
import type { StreamGuard } from "./stream-guard.js";

export interface ListenerOptions {
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer };
  /** connect-node's handler: Connect and gRPC-Web over HTTP/1.1 and HTTP/2. */
  readonly http: (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;
  /** Native gRPC streams (content-type application/grpc[+proto]). */
  readonly grpc: NativeStreamHandler;
  /** Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Admits each stream and HTTP/1.1 request, or refuses it (see stream-guard.ts). */
  readonly guard: StreamGuard;
  /** Connection caps and timeouts (see connection-guard.ts). */
  readonly connections: ConnectionGuard;
  readonly limits: NetworkLimits;
  readonly refusals: NetworkRefusals;
}

export interface Listener {
  readonly server: Server;
  /** Open HTTP/2 sessions, for GOAWAY on drain. */
  readonly sessions: ReadonlySet<Http2Session>;
  /** Stops accepting, sends GOAWAY, and closes idle HTTP/1.1 connections; resolves when every connection closed. */
  close(): Promise<void>;
  /** Ends every connection now (after the drain grace). */
  destroy(): void;
}

const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * One port for every protocol. Each HTTP/2 stream is routed by its
 * content-type: native gRPC to grpc-js, everything else (Connect, gRPC-Web)
 * to connect-node, so a browser's and a service's calls may share a
 * connection. HTTP/1.1 (Connect and gRPC-Web from browsers and curl) is told
 * apart from HTTP/2 by ALPN under TLS, and by the connection preface on
 * plaintext (h2c prior knowledge), which Node's HTTP/2 server cannot do
 * itself.
 */
export function createListener(options: ListenerOptions): Listener {
  const settings = { maxConcurrentStreams: options.maxConcurrentStreams };
  const tls = options.tls;
  const { guard, connections } = options;
  const http: ListenerOptions["http"] = (req, res) => {
    // HTTP/2 streams are admitted in routeStreams; an HTTP/1.1 request here.
    if (req.httpVersionMajor === 1) {
      connections.requestArrived(req.socket);
      if (!guard.admitHttp1(req as IncomingMessage, res as ServerResponse)) return;
    }
    options.http(req, res);
  };
  // nghttp2's buffers per connection: Node's 10 MB default refused a client's sixth concurrent 3.4 MB call.
  const maxSessionMemory = options.limits.sessionMemoryMiB;
  const http2 = tls
    ? createSecureServer(
        {
          cert: tls.cert,
          key: tls.key,
          allowHTTP1: true,
          settings,
          maxSessionMemory,
          ...http1ServerOptions(options.limits),
          ...tlsServerOptions(options.limits),
          ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
        },
        http,
      )
    : createHttp2Server({ settings, maxSessionMemory }, http);
  routeStreams(http2, options.grpc, (stream, headers, isGrpc) => {
    connections.requestArrived(stream.session?.socket as Socket | undefined);
    return guard.admit(stream, headers, isGrpc);
  });

  const sessions = new Set<Http2Session>();
  http2.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    connections.guardSession(session);
  });

  const sockets = new Set<Socket>();
  let http1: ReturnType<typeof createHttp1Server> | undefined;
  let server: Server;
  if (tls) {
    server = http2;
    // HTTP/1.1 over TLS (ALPN) is served by the HTTP/2 server's compatibility layer.
    watchHttp1Responses(http2, options.limits, options.refusals, "rpc");
  } else {
    http1 = createHttp1Server(http1ServerOptions(options.limits), http);
    guardHttp1(http1, options.limits, options.refusals, "rpc");
    // Node's HTTP/1.1 server starts checking its headers and request timeouts on "listening";
    // this one never listens (it is handed sniffed sockets), so without this it never checked them.
    http1.emit("listening");
    const h1 = http1;
    server = createNetServer((socket) => {
      sniff(socket, (isHttp2) => {
        if (isHttp2) {
          http2.emit("connection", socket);
        } else {
          h1.emit("connection", socket);
          socket.resume();
        }
      });
    });
  }
  connections.guardServer(server, tls !== undefined);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  return {
    server,
    sessions,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // GOAWAY: clients open no new streams here; streams in flight finish.
        for (const session of sessions) session.close();
        // Closes idle connections and stops the timeout checks (it was never listening: nothing else to close).
        http1?.close();
      }),
    destroy: () => {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Takes over the HTTP/2 server's "stream" event: gRPC streams go to grpc-js,
 * the rest to Node's compatibility layer (the listener Node installed for
 * the request handler), which connect-node serves.
 */
function routeStreams(
  server: ReturnType<typeof createHttp2Server> | ReturnType<typeof createSecureServer>,
  grpc: NativeStreamHandler,
  admit: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, isNativeGrpc: boolean) => boolean,
): void {
  const compat = server.listeners("stream") as ((...args: unknown[]) => void)[];
  server.removeAllListeners("stream");
  server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
    const isGrpc = isNativeGrpc(headers[constants.HTTP2_HEADER_CONTENT_TYPE] as string | undefined);
    // A refused stream has been answered there (or was already reset by its peer).
    if (!admit(stream, headers, isGrpc)) return;
    if (isGrpc) {
      grpc(stream, headers);
      return;
    }
    for (const listener of compat) listener.call(server, stream, headers, ...rest);
  });
}

/** application/grpc, application/grpc+proto, application/grpc;…: not gRPC-Web (application/grpc-web…). */
export function isNativeGrpc(contentType: string | undefined): boolean {
  if (contentType === undefined || !contentType.startsWith("application/grpc")) return false;
  const next = contentType.charAt("application/grpc".length);
  return next === "" || next === "+" || next === ";";
}

/** Reads enough of a new plaintext connection to tell the HTTP/2 preface from an HTTP/1.1 request line. */
function sniff(socket: Socket, route: (isHttp2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const length = Math.min(seen.length, http2Preface.length);
    const isHttp2 = seen.subarray(0, length).equals(http2Preface.subarray(0, length));
    if (isHttp2 && length < http2Preface.length) return; // a prefix of the preface: read on
    socket.off("data", onData);
    socket.off("error", onError);
    // Paused with the bytes put back: Node's HTTP/2 session reads a socket's
    // buffered bytes on its next tick; the HTTP/1.1 server needs it flowing.
    socket.pause();
    socket.unshift(seen);
    route(isHttp2);
  };
  const onError = () => socket.destroy();
  socket.on("data", onData);
  socket.on("error", onError);
}
