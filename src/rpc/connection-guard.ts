import type { IncomingMessage, ServerOptions as Http1ServerOptions, Server as Http1Server } from "node:http";
import type { Http2Session } from "node:http2";
import type { Server as NetServer, Socket } from "node:net";
import type { NetworkLimits } from "../domain/network-limits.js";
import { ConnectionsPerAddress } from "./connections-per-address.js";
import { watchHttp1Responses } from "./http1-slow-readers.js";
import type { ListenerName, NetworkRefusals } from "./network-refusals.js";

/**
 * Connection-level bounds shared by every listener (RPC, metrics, MCP): a
 * cap on open connections, in total and per client address, a deadline for a new connection's first request,
 * and an idle timeout. Without them ~20,000 silent TCP connections used up
 * the process's file descriptors and every port stopped answering.
 */
export interface ConnectionGuard {
  /**
   * Call once per listening server, before it accepts. Under TLS the first
   * request's deadline starts once the handshake is done (the handshake has
   * its own, `handshakeTimeout`, from `tlsServerOptions`).
   */
  guardServer(server: NetServer, tls?: boolean): void;
  /** The first request on a connection arrived (an HTTP/1.1 request or an HTTP/2 stream): its headers deadline is met. */
  requestArrived(socket: Socket | undefined): void;
  /** Tracks an HTTP/2 session's open streams, closing it once idle for the idle timeout. */
  guardSession(session: Http2Session): void;
}

/**
 * The pending first-request timer, kept on the socket itself: an HTTP/2
 * session hands out a proxy of its socket, which reads properties through.
 */
const firstRequest = Symbol("engram first-request timer");
type Timed = Socket & { [firstRequest]?: NodeJS.Timeout | undefined };

export function connectionGuard(
  limits: NetworkLimits,
  refusals: NetworkRefusals,
  listener: ListenerName,
): ConnectionGuard {
  return {
    guardServer(server, tls = false) {
      // Node closes a connection past maxConnections on accept and emits "drop".
      server.maxConnections = limits.maxConnections;
      server.on("drop", () => refusals.record(listener, "connections"));
      // First of the "connection" listeners: a socket over the per-address cap is closed before
      // any protocol (sniffing, TLS, HTTP) sees it. Under TLS this is the raw TCP connection.
      const perAddress = new ConnectionsPerAddress(limits.maxConnectionsPerAddress);
      server.prependListener("connection", (socket: Socket) => {
        const key = perAddress.admit(socket.remoteAddress);
        if (key === false) {
          refusals.record(listener, "connections-per-address");
          socket.destroy();
          return;
        }
        socket.once("close", () => perAddress.release(key));
      });
      server.on(tls ? "secureConnection" : "connection", (socket: Timed) => {
        const timer = setTimeout(() => {
          socket[firstRequest] = undefined;
          if (socket.destroyed) return;
          refusals.record(listener, "headers-timeout");
          socket.destroy();
        }, limits.headersTimeoutMs);
        timer.unref();
        socket[firstRequest] = timer;
        socket.once("close", () => clearTimeout(timer));
      });
      if (tls) {
        server.on("tlsClientError", (error: NodeJS.ErrnoException) => {
          if (error.code === "ERR_TLS_HANDSHAKE_TIMEOUT") refusals.record(listener, "headers-timeout");
        });
      }
    },
    requestArrived(socket) {
      const timed = socket as Timed | undefined;
      const timer = timed?.[firstRequest];
      if (timer === undefined) return;
      clearTimeout(timer);
      timed![firstRequest] = undefined;
    },
    guardSession(session) {
      // Counted here rather than read from the session: Node exposes no count of open streams.
      let open = 0;
      let idle: NodeJS.Timeout | undefined;
      const arm = () => {
        idle = setTimeout(() => {
          if (session.closed || session.destroyed) return;
          refusals.record(listener, "idle-timeout");
          session.close();
          // A peer that never acknowledges the GOAWAY is not waited for.
          setTimeout(() => session.destroy(), 1000).unref();
        }, limits.idleTimeoutMs);
        idle.unref();
      };
      arm();
      session.on("stream", (stream) => {
        open++;
        clearTimeout(idle);
        stream.once("close", () => {
          if (--open === 0 && !session.closed) arm();
        });
      });
      session.once("close", () => clearTimeout(idle));
    },
  };
}

/** A TLS server's handshake deadline: the same as the headers timeout. */
export function tlsServerOptions(limits: NetworkLimits): { handshakeTimeout: number } {
  return { handshakeTimeout: limits.headersTimeoutMs };
}

/**
 * Node's own HTTP/1.1 timeouts from the same limits: the headers timeout,
 * the whole request (headers and body), and socket inactivity (which also
 * ends a response the client stopped reading). They are checked every
 * `connectionsCheckingInterval`, so that follows the shortest of them.
 */
export function http1ServerOptions(limits: NetworkLimits): Http1ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/**
 * A plain HTTP/1.1 listener (metrics, MCP) under every connection bound:
 * create it with `http1ServerOptions`, then call this before it listens.
 */
export function guardHttp1Listener(
  server: Http1Server,
  limits: NetworkLimits,
  refusals: NetworkRefusals,
  listener: ListenerName,
  tls = false,
): void {
  const connections = connectionGuard(limits, refusals, listener);
  connections.guardServer(server, tls);
  server.on("request", (req: IncomingMessage) => connections.requestArrived(req.socket));
  guardHttp1(server, limits, refusals, listener);
}

/** Applies the inactivity and slow-reader timeouts to an HTTP/1.1 server and counts what they close. */
export function guardHttp1(
  server: Http1Server,
  limits: NetworkLimits,
  refusals: NetworkRefusals,
  listener: ListenerName,
) {
  watchHttp1Responses(server, limits, refusals, listener);
  server.setTimeout(limits.idleTimeoutMs, (socket: Socket) => {
    refusals.record(listener, "idle-timeout");
    socket.destroy();
  });
  // Node answers 408 and closes on the headers and request timeouts; counted here, answered as Node would.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    const timedOut = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
    if (timedOut) refusals.record(listener, "body-timeout");
    const response = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !response?.headersSent) {
      const status = timedOut
        ? "408 Request Timeout"
        : error.code === "HPE_HEADER_OVERFLOW"
          ? "431 Request Header Fields Too Large"
          : "400 Bad Request";
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
  });
}
