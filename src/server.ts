import {
  createServer as createHttpServer,
  type RequestListener,
  type Server as HttpServer,
  type ServerOptions,
} from "node:http";
import { readFileSync } from "node:fs";
import type { AddressInfo, Server as NetServer } from "node:net";
import { checkListenerSecurity, ConfigError, type Config } from "./config.js";
import type { Engram } from "./domain/engram.js";
import { limits } from "./domain/limits.js";
import type { Stores } from "./domain/ports.js";
import { RateLimiter } from "./domain/rate-limit.js";
import { openConfiguredStores, openEngram } from "./engram-factory.js";
import { MemoryService } from "./gen/engram/v1/memory_service_pb.js";
import { HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";
import { startMcpHttp } from "./mcp/mcp-http.js";
import { startHealthChecks } from "./observability/health-checks.js";
import { HealthStatus, livenessService } from "./observability/health-status.js";
import type { Logger } from "./observability/logger.js";
import { metricEvents } from "./observability/metric-events.js";
import { EngramMetrics } from "./observability/metrics.js";
import { operationsHandler } from "./observability/operations-http.js";
import { Authenticator } from "./rpc/authentication.js";
import { startConfiguredProbe } from "./probe/probe-schedule.js";
import { loadProbeSet } from "./probe/probe-set-file.js";
import { createListener } from "./rpc/listener.js";
import { createRpcStack } from "./rpc/rpc-stack.js";
import { drainThenClose } from "./server-shutdown.js";
import { NetworkRefusals } from "./rpc/network-refusals.js";
import { connectionGuard, guardHttp1Listener, http1ServerOptions } from "./rpc/connection-guard.js";
import { StreamGuard, streamingRequestPaths } from "./rpc/stream-guard.js";
import { preAuthenticator } from "./rpc/pre-authentication.js";
import { routeGrpcLogs } from "./observability/library-logs.js";

export interface RunningServer {
  /** The port gRPC, gRPC-Web and Connect are served on. */
  readonly port: number;
  /** The metrics port, or undefined when disabled. */
  readonly metricsPort: number | undefined;
  /** The MCP (streamable HTTP) port, or undefined when disabled. */
  readonly mcpPort: number | undefined;
  readonly engram: Engram;
  readonly health: HealthStatus;
  /** Drains in-flight calls (up to the grace period), then closes everything. */
  shutdown(): Promise<void>;
}

/**
 * Starts Engram: one HTTP/2 (h2c) listener serving MemoryService, health and
 * reflection over gRPC, gRPC-Web and Connect (the RPC stack:
 * rpc/rpc-stack.ts), a plain HTTP listener for /metrics and the probes, and
 * MCP when enabled. Resolves once every listener listens.
 */
export async function startServer(
  config: Config,
  logger: Logger,
  dependencies: {
    openStores?: (config: Config, dimensions: number, embedder: string) => Stores | Promise<Stores>;
  } = {},
): Promise<RunningServer> {
  checkListenerSecurity(config);
  // Before anything opens: a bad probe set fails start-up with nothing to close.
  const probeSet = config.quality.probe.intervalMs > 0 ? loadProbeSet(config.quality.probe.setFile) : undefined;
  const metrics = new EngramMetrics();
  let embedderKey = "";
  const openStores = dependencies.openStores ?? openConfiguredStores;
  const { engram, stores } = await openEngram(
    config,
    metricEvents(metrics, logger, config.quality.labelledNamespaces),
    (c, dimensions, embedder) => ((embedderKey = embedder), openStores(c, dimensions, embedder)),
    metrics,
  );
  metrics.learningQueueDepthSource = () => engram.learning.depth();
  await engram.start();
  const probe = probeSet && startConfiguredProbe(config.quality, probeSet, engram, metrics.registry, logger);

  const health = new HealthStatus([MemoryService.typeName]);
  const abortCalls = new AbortController();
  const { auth } = config;
  const limiter = auth.ratePerSecond > 0 ? new RateLimiter(auth.ratePerSecond, auth.rateBurst) : undefined;
  const authenticator = new Authenticator(auth.tokens, limiter, auth.mtlsAllowAnyCn);
  const rpc = createRpcStack({
    engram,
    health,
    authenticator,
    metrics,
    logger,
    maxTimeoutMs: config.server.maxTimeoutMs,
    shutdownSignal: abortCalls.signal,
  });
  // Connection, stream, time and byte bounds (ENGRAM_NET_*, docs/hardening.md).
  const networkRefusals = new NetworkRefusals(metrics.registry, logger);
  const streamingRequests = streamingRequestPaths(rpc.services);
  routeGrpcLogs(logger);
  const listener = createListener({
    ...(auth.tls ? { tls: readTls(auth.tls) } : {}),
    http: rpc.http,
    grpc: rpc.grpc,
    maxConcurrentStreams: limits.streamsPerConnection,
    guard: new StreamGuard({
      limits: config.network,
      refusals: networkRefusals,
      unauthenticatedCallsPerPeer: limits.openUnauthenticatedCallsPerPeer,
      // Health and reflection need no credentials (probes, tooling); MemoryService always goes through the gate.
      isUnauthenticated: (path) => !path.startsWith(`/${MemoryService.typeName}/`),
      isStreamingRequest: (path) => streamingRequests.has(path),
      ...(authenticator.enabled ? { preAuthenticate: preAuthenticator(authenticator, rpc.refused) } : {}),
    }),
    connections: connectionGuard(config.network, networkRefusals, "rpc"),
    limits: config.network,
    refusals: networkRefusals,
  });
  const { host } = config.server;
  const port = await claimed("ENGRAM_PORT", host, config.server.port, () =>
    listen(listener.server, config.server.port, host),
  );
  const operations = await claimed("ENGRAM_METRICS_PORT", config.server.metricsHost, config.server.metricsPort, () =>
    serveHttp(
      operationsHandler(metrics, health),
      config.server.metricsPort,
      config.server.metricsHost,
      (server) => guardHttp1Listener(server, config.network, networkRefusals, "metrics"),
      http1ServerOptions(config.network),
    ),
  );
  const mcp = config.mcp.enabled
    ? await claimed("ENGRAM_MCP_PORT", host, config.mcp.port, () =>
        startMcpHttp(config, rpc.callInProcess, authenticator, logger, networkRefusals),
      )
    : undefined;

  health.set(livenessService, HealthCheckResponse_ServingStatus.SERVING);
  const healthChecks = startHealthChecks(stores, health, logger, metrics, config.server.healthCheckIntervalMs);
  logListening(logger, config, {
    port,
    metricsPort: operations?.port,
    metricsHost: operations?.host,
    mcpPort: mcp?.port,
    backends: stores.health.map((h) => h.name),
    // Which backend serves each tier: a misspelled ENGRAM_REDIS_URL shows here as "embedded".
    tiers: stores.backends,
    // What made (and will make) the long-term vectors, e.g. local-onnx/all-MiniLM-L6-v2-int8@8199be6f699a/384.
    embedder: embedderKey,
    authentication: authenticator.mode,
  });

  const shutdown = drainThenClose({
    logger,
    graceMs: config.server.shutdownGraceMs,
    health,
    healthChecks,
    listener,
    abortCalls,
    then: [operations, mcp, probe, engram, stores],
  });
  return { port, metricsPort: operations?.port, mcpPort: mcp?.port, engram, health, shutdown };
}

/** The start-up line operators look for, and a warning when every client certificate is an admin. */
function logListening(logger: Logger, config: Config, details: Record<string, unknown>): void {
  logger.info("engram listening", { host: config.server.host, ...details });
  if (config.auth.mtlsAllowAnyCn) {
    logger.warn(
      "every holder of a certificate from ENGRAM_TLS_CLIENT_CA_FILE is an admin of every namespace " +
        "(ENGRAM_MTLS_ALLOW_ANY_CN=true); list callers by certificateCn in ENGRAM_AUTH_TOKENS_FILE to narrow this",
      { clientCaFile: config.auth.tls?.clientCaFile },
    );
  }
}

/** The server's certificate and key, and the CA client certificates must chain to (mTLS). */
function readTls(tls: NonNullable<Config["auth"]["tls"]>) {
  return {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ...(tls.clientCaFile ? { ca: readFileSync(tls.clientCaFile) } : {}),
  };
}

/**
 * Runs `start`, which listens on a configured port; a port another process
 * holds fails start-up naming the variable, like any bad value, rather than
 * with a stack trace. A second `make start` in another clone meets it; in
 * the same clone the first one's data directory is refused before, as the
 * stores open (engram-factory.ts).
 */
async function claimed<T>(variable: string, host: string, port: number | undefined, start: () => Promise<T>) {
  try {
    return await start();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    throw new ConfigError(
      variable,
      `${host}:${port} is already in use (another Engram?): stop what holds it, or set ${variable} to a free port ` +
        "(0 picks one); a second embedded server also needs its own ENGRAM_DATA_DIR",
    );
  }
}

/** Listens and resolves with the port bound (port 0 picks a free one). */
function listen(server: HttpServer | NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** /metrics and the probes on their own plain HTTP listener, when a port is configured. */
async function serveHttp(
  handler: RequestListener,
  port: number | undefined,
  host: string,
  guard: (server: HttpServer) => void,
  options: ServerOptions,
) {
  if (port === undefined) return undefined;
  const server = createHttpServer(options, handler);
  guard(server);
  return {
    port: await listen(server, port, host),
    host: (server.address() as AddressInfo).address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
