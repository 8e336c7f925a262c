import { Code, ConnectError } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";
import type { HealthStatus } from "./observability/health-status.js";
import type { Logger } from "./observability/logger.js";
import type { Listener } from "./rpc/listener.js";

/** Something the server stops on shutdown, in the order given. */
export interface Closeable {
  close(): Promise<void>;
}

/**
 * Graceful shutdown, once however often it is asked for: readiness goes
 * NOT_SERVING and the listener stops accepting (GOAWAY to HTTP/2 clients,
 * idle HTTP/1.1 connections closed); calls in flight get `graceMs` to
 * finish, after which they are aborted with UNAVAILABLE (safe to retry
 * elsewhere) and their connections destroyed. Then everything else closes,
 * in order: the other listeners first, the stores last.
 */
export function drainThenClose(options: {
  readonly logger: Logger;
  readonly graceMs: number;
  readonly health: HealthStatus;
  readonly healthChecks: { stop(): void };
  readonly listener: Listener;
  /** Aborts every call still in flight once the grace period is over. */
  readonly abortCalls: AbortController;
  /** Closed after the listener drained, in order. */
  readonly then: readonly (Closeable | undefined)[];
}): () => Promise<void> {
  const { logger, listener } = options;
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      logger.info("engram draining", { inFlightConnections: listener.sessions.size, graceMs: options.graceMs });
      options.healthChecks.stop();
      options.health.setAll(HealthCheckResponse_ServingStatus.NOT_SERVING);
      const closed = listener.close();
      const drained = await Promise.race([closed.then(() => true), delay(options.graceMs).then(() => false)]);
      if (!drained) {
        options.abortCalls.abort(new ConnectError("server is shutting down", Code.Unavailable));
        listener.destroy();
        await closed;
      }
      for (const part of options.then) await part?.close();
      logger.info("engram stopped", { drained });
    })());
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
