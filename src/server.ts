import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from "node:http";
import { readFileSync } from "node:fs";
import type { AddressInfo, Server as NetServer } from "node:net";
import { checkListenerSecurity, type Config } from "./config.js";
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
  const listener = createListener({
    ...(auth.tls ? { tls: readTls(auth.tls) } : {}),
    http: rpc.http,
    grpc: rpc.grpc,
    maxConcurrentStreams: limits.streamsPerConnection,
    openUnauthenticatedCallsPerPeer: limits.openUnauthenticatedCallsPerPeer,
    // Health and reflection need no credentials (probes, tooling); MemoryService always goes through the gate.
    isUnauthenticated: (path) => !path.startsWith(`/${MemoryService.typeName}/`),
  });
  const port = await listen(listener.server, config.server.port, config.server.host);
  const operations = await serveHttp(
    operationsHandler(metrics, health),
    config.server.metricsPort,
    config.server.metricsHost,
  );
  const mcp = config.mcp.enabled ? await startMcpHttp(config, rpc.callInProcess, authenticator, logger) : undefined;

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
async function serveHttp(handler: RequestListener, port: number | undefined, host: string) {
  if (port === undefined) return undefined;
  const server = createHttpServer(handler);
  return {
    port: await listen(server, port, host),
    host: (server.address() as AddressInfo).address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
