import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { readFileSync } from "node:fs";
import type { TLSSocket } from "node:tls";
import type { AddressInfo, Server as NetServer } from "node:net";
import { Code, ConnectError, createContextValues, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { checkListenerSecurity, type Config } from "./config.js";
import type { Engram } from "./domain/engram.js";
import { limits } from "./domain/limits.js";
import { openConfiguredStores, openEngram } from "./engram-factory.js";
import { instrumentStores } from "./observability/instrument-stores.js";
import { file_engram_v1_memory_service, MemoryService } from "./gen/engram/v1/memory_service_pb.js";
import {
  file_grpc_health_v1_health,
  Health,
  HealthCheckResponse_ServingStatus,
} from "./gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection, ServerReflection } from "./gen/grpc/reflection/v1/reflection_pb.js";
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ServerReflectionV1Alpha,
} from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { Logger } from "./observability/logger.js";
import { EngramMetrics } from "./observability/metrics.js";
import { metricEvents } from "./observability/metric-events.js";
import { startHealthChecks } from "./observability/health-checks.js";
import { operationsHandler } from "./observability/operations-http.js";
import { RateLimiter } from "./domain/rate-limit.js";
import { Authenticator, peerAddressKey, peerCertificateCnKey } from "./rpc/authentication.js";
import { HealthStatus, livenessService } from "./observability/health-status.js";
import { healthHandlers } from "./rpc/health-service.js";
import { memoryServiceHandlers } from "./rpc/memory-service-handlers.js";
import { methodLabel, observeInterceptor } from "./rpc/observe-interceptor.js";
import { reflectionHandlers } from "./rpc/reflection-service.js";
import { traceInterceptor } from "./rpc/trace-interceptor.js";
import { clampDeadline } from "./rpc/deadline.js";
import { RepeatThrottle } from "./observability/repeat-throttle.js";
import { startMcpHttp } from "./mcp/mcp-http.js";
import { isServerFault } from "./rpc/error-mapping.js";
import { createListener } from "./rpc/listener.js";
import { nativeGrpcStreamHandler, served, type ServedService } from "./rpc/native-grpc.js";
import type { Stores } from "./domain/ports.js";

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
 * reflection over gRPC, gRPC-Web and Connect, and a plain HTTP listener for
 * /metrics. Resolves once both listen.
 */
export async function startServer(
  config: Config,
  logger: Logger,
  dependencies: {
    openStores?: (config: Config, dimensions: number, embedder: string) => Stores | Promise<Stores>;
  } = {},
): Promise<RunningServer> {
  checkListenerSecurity(config);
  const metrics = new EngramMetrics();
  let embedderKey = "";
  const { engram, stores } = await openEngram(
    config,
    metricEvents(metrics, logger),
    async (c, dimensions, embedder) => {
      embedderKey = embedder;
      return instrumentStores(
        await (dependencies.openStores ?? openConfiguredStores)(c, dimensions, embedder),
        metrics,
      );
    },
  );
  metrics.learningQueueDepthSource = () => engram.learning.depth();
  await engram.start();

  const serviceNames = [
    MemoryService.typeName,
    Health.typeName,
    ServerReflection.typeName,
    ServerReflectionV1Alpha.typeName,
  ];
  const health = new HealthStatus([MemoryService.typeName]);
  const shutdownController = new AbortController();
  const authenticator = new Authenticator(
    config.auth.tokens,
    config.auth.ratePerSecond > 0 ? new RateLimiter(config.auth.ratePerSecond, config.auth.rateBurst) : undefined,
    config.auth.mtlsAllowAnyCn,
  );
  const reflection = reflectionHandlers(
    [
      file_engram_v1_memory_service,
      file_grpc_health_v1_health,
      file_grpc_reflection_v1_reflection,
      file_grpc_reflection_v1alpha_reflection,
    ],
    serviceNames,
  );
  const services: ServedService[] = [
    served(MemoryService, memoryServiceHandlers(engram)),
    served(Health, healthHandlers(health)),
    served(ServerReflection, reflection),
    // v1alpha's messages are v1's under another package: the same handler serves both.
    served(ServerReflectionV1Alpha, reflection as unknown as ServiceImpl<typeof ServerReflectionV1Alpha>),
  ];
  const interceptors = [
    traceInterceptor(),
    observeInterceptor(metrics, logger),
    clampDeadline(config.server.maxTimeoutMs),
  ];
  const requestGate = (ctx: HandlerContext) => {
    try {
      authenticator.gate(ctx);
    } catch (error) {
      // Refused before the interceptors run: counted here, so dashboards see refused traffic too.
      const code = error instanceof ConnectError ? Code[error.code] : "Unknown";
      metrics.rpcTotal.inc({ method: methodLabel(ctx.service.typeName, ctx.method.name), code });
      throw error;
    }
  };
  // A verified client certificate's CN names the caller (mTLS). The listener
  // requests certificates only with rejectUnauthorized, so one presented is verified.
  const certificateValues = (cn: string | undefined, peerAddress: string | undefined) => {
    const values = createContextValues();
    if (cn !== undefined) values.set(peerCertificateCnKey, cn);
    if (peerAddress !== undefined) values.set(peerAddressKey, peerAddress);
    return values;
  };
  const handler = connectNodeAdapter({
    routes: (router) => {
      for (const { service, impl } of services) router.service(service, impl as never);
    },
    interceptors,
    requestGate,
    contextValues: (req) => {
      const socket = req.socket as TLSSocket;
      return certificateValues(
        socket.authorized ? firstOf(socket.getPeerCertificate().subject?.CN) : undefined,
        socket.remoteAddress,
      );
    },
    readMaxBytes: limits.requestBytes,
    // Deadlines above the configured maximum are clamped by clampDeadline, not refused; only one past
    // what a timer can hold (~24.8 days) is refused, as it would otherwise fire at once.
    maxTimeoutMs: 2_147_483_647,
    shutdownSignal: shutdownController.signal,
  });
  // Requests refused before any interceptor saw them (malformed, oversized): counted and logged here.
  const refusals = new RepeatThrottle(10_000);
  const refused = (method: string, code: Code, reason: string) => {
    metrics.rpcTotal.inc({ method, code: Code[code] });
    if (refusals.admit(`${method} ${code}`, (repeats) => logger.warn("request refused again", { method, repeats }))) {
      logger.warn("request refused", { method, code: Code[code], reason });
    }
  };
  const grpcStreams = nativeGrpcStreamHandler({
    refused,
    services,
    interceptors,
    requestGate,
    contextValues: (call) =>
      certificateValues(firstOf(call.getAuthContext().sslPeerCertificate?.subject?.CN), peerHost(call.getPeer())),
    maxTimeoutMs: config.server.maxTimeoutMs,
    readMaxBytes: limits.requestBytes,
    shutdownSignal: shutdownController.signal,
  });

  const tls = config.auth.tls;
  const listener = createListener({
    ...(tls
      ? {
          tls: {
            cert: readFileSync(tls.certFile),
            key: readFileSync(tls.keyFile),
            ...(tls.clientCaFile ? { ca: readFileSync(tls.clientCaFile) } : {}),
          },
        }
      : {}),
    http: handler,
    grpc: grpcStreams,
    maxConcurrentStreams: limits.streamsPerConnection,
    openUnauthenticatedCallsPerPeer: limits.openUnauthenticatedCallsPerPeer,
    // Health and reflection need no credentials (probes, tooling); MemoryService always goes through the gate.
    isUnauthenticated: (path) => !path.startsWith(`/${MemoryService.typeName}/`),
  });
  const server = listener.server;
  const sessions = listener.sessions;
  await listen(server, config.server.port, config.server.host);
  const port = (server.address() as AddressInfo).port;

  let metricsServer: HttpServer | undefined;
  if (config.server.metricsPort !== undefined) {
    metricsServer = createHttpServer(operationsHandler(metrics, health));
    await listen(metricsServer, config.server.metricsPort, config.server.metricsHost);
  }

  const mcp = config.mcp.enabled
    ? await startMcpHttp(config, engram, authenticator, logger, (tool, seconds, failure) => {
        const method = `mcp/${tool}`;
        const code = failure ? Code[failure.status.code] : "OK";
        metrics.rpcDuration.observe({ method, code }, seconds);
        metrics.rpcTotal.inc({ method, code });
        if (failure && isServerFault(failure.status.code)) {
          logger.error("mcp tool failed", { method, code, error: failure.cause });
        } else if (failure) {
          logger.debug("mcp tool rejected", { method, code, reason: failure.status.rawMessage });
        }
      })
    : undefined;

  health.set(livenessService, HealthCheckResponse_ServingStatus.SERVING);
  const checker = startHealthChecks(stores, health, logger, metrics, config.server.healthCheckIntervalMs);
  logger.info("engram listening", {
    host: config.server.host,
    port,
    metricsPort: metricsServer ? (metricsServer.address() as AddressInfo).port : undefined,
    metricsHost: metricsServer ? (metricsServer.address() as AddressInfo).address : undefined,
    mcpPort: mcp?.port,
    backends: stores.health.map((h) => h.name),
    // Which backend serves each tier: a misspelled ENGRAM_REDIS_URL shows here as "embedded".
    tiers: stores.backends,
    // What made (and will make) the long-term vectors, e.g. local-onnx/all-MiniLM-L6-v2-int8@8199be6f699a/384.
    embedder: embedderKey,
    authentication: authenticator.mode,
  });
  if (config.auth.mtlsAllowAnyCn) {
    logger.warn(
      "every holder of a certificate from ENGRAM_TLS_CLIENT_CA_FILE is an admin of every namespace " +
        "(ENGRAM_MTLS_ALLOW_ANY_CN=true); list callers by certificateCn in ENGRAM_AUTH_TOKENS_FILE to narrow this",
      { clientCaFile: config.auth.tls?.clientCaFile },
    );
  }

  let stopping: Promise<void> | undefined;
  return {
    port,
    metricsPort: metricsServer ? (metricsServer.address() as AddressInfo).port : undefined,
    mcpPort: mcp?.port,
    engram,
    health,
    shutdown: () =>
      (stopping ??= (async () => {
        logger.info("engram draining", { inFlightConnections: sessions.size, graceMs: config.server.shutdownGraceMs });
        checker.stop();
        health.setAll(HealthCheckResponse_ServingStatus.NOT_SERVING);
        const closed = listener.close();
        const drained = await Promise.race([
          closed.then(() => true),
          delay(config.server.shutdownGraceMs).then(() => false),
        ]);
        if (!drained) {
          shutdownController.abort(new ConnectError("server is shutting down", Code.Unavailable));
          listener.destroy();
          await closed;
        }
        await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
        await mcp?.close();
        await engram.close();
        await stores.close();
        logger.info("engram stopped", { drained });
      })()),
  };
}

function listen(server: HttpServer | NetServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A certificate subject field may repeat; the first names the caller. */
function firstOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** grpc-js names a peer "host:port" or "[v6]:port" (sometimes with an "ipv4:" scheme): the host. */
function peerHost(peer: string): string {
  const address = peer.replace(/^ipv[46]:/, "");
  const v6 = /^\[(.*)\]:\d+$/.exec(address);
  return v6 ? v6[1]! : address.replace(/:\d+$/, "");
}
