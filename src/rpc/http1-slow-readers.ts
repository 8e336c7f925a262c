import type { Server as Http1Server, IncomingMessage } from "node:http";
import type { Http2SecureServer, Http2Server } from "node:http2";
import type { Socket } from "node:net";
import type { NetworkLimits } from "../domain/network-limits.js";
import type { ListenerName, NetworkRefusals } from "./network-refusals.js";

/**
 * Cuts off HTTP/1.1 clients that stop reading a response. Node's HTTP/1.1
 * server keeps whatever a response writes in the socket's buffer when the
 * client's receive window is full, and only the idle timeout (300 s by
 * default) ended such a connection. A socket is stalled when bytes wait to
 * be sent and none has reached the kernel for the slow-reader timeout
 * (ENGRAM_NET_SLOW_READER_TIMEOUT_SECONDS), whether or not the handler keeps
 * adding to the buffer; it is destroyed, which ends the call and frees the
 * buffer, and counted as `slow-reader`.
 */
export function watchHttp1Responses(
  server: Http1Server | Http2SecureServer | Http2Server,
  limits: NetworkLimits,
  refusals: NetworkRefusals,
  listener: ListenerName,
): void {
  const readers = new SlowReaders(limits.slowReaderTimeoutMs, () => refusals.record(listener, "slow-reader"));
  server.on("request", (req: IncomingMessage) => {
    if (req.httpVersionMajor === 1) readers.watch(req.socket);
  });
}

/** What the sweep last saw of a socket: bytes handed to the kernel, and since when that number stood. */
interface Progress {
  sent: number;
  since: number;
}

/**
 * Whether a socket has stalled: bytes wait to be sent and the count handed to
 * the kernel has not moved for `timeoutMs`. Updates `seen` otherwise.
 */
export function stalled(seen: Progress, waiting: number, sent: number, now: number, timeoutMs: number): boolean {
  if (waiting === 0 || sent !== seen.sent) {
    seen.sent = sent;
    seen.since = now;
    return false;
  }
  return now - seen.since >= timeoutMs;
}

class SlowReaders {
  private readonly sockets = new Map<Socket, Progress>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onCut: () => void,
  ) {}

  /** Watches a connection for the rest of its life (its keep-alive requests included). */
  watch(socket: Socket): void {
    if (this.sockets.has(socket) || socket.destroyed) return;
    this.sockets.set(socket, { sent: 0, since: performance.now() });
    socket.once("close", () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0 && this.sweeper) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    });
    this.sweeper ??= setInterval(
      () => this.sweep(performance.now()),
      Math.max(25, Math.min(1000, this.timeoutMs / 4)),
    ).unref();
  }

  private sweep(now: number): void {
    for (const [socket, seen] of this.sockets) {
      // bytesWritten counts what is still buffered too: the difference is what reached the kernel.
      const waiting = socket.writableLength;
      if (!stalled(seen, waiting, socket.bytesWritten - waiting, now, this.timeoutMs)) continue;
      this.sockets.delete(socket);
      this.onCut();
      socket.destroy();
    }
  }
}
