import type { TLSSocket } from "node:tls";
import { createContextValues, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Engram } from "../domain/engram.js";
import { limits } from "../domain/limits.js";
import { file_engram_v1_memory_service, MemoryService } from "../gen/engram/v1/memory_service_pb.js";
import { file_grpc_health_v1_health, Health } from "../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection, ServerReflection } from "../gen/grpc/reflection/v1/reflection_pb.js";
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ServerReflectionV1Alpha,
} from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { HealthStatus } from "../observability/health-status.js";
import type { Logger } from "../observability/logger.js";
import type { EngramMetrics } from "../observability/metrics.js";
import { peerAddressKey, peerCertificateCnKey, type Authenticator } from "./authentication.js";
import { healthHandlers } from "./health-service.js";
import { inProcessCaller, type CallInProcess } from "./in-process-call.js";
import { requestInterceptors } from "./interceptors.js";
import { memoryServiceHandlers } from "./memory-service-handlers.js";
import { nativeGrpcStreamHandler, served, type NativeStreamHandler, type ServedService } from "./native-grpc.js";
import { reflectionHandlers } from "./reflection-service.js";
import { Refusals } from "./refusals.js";

/** The RPC layer as the listener and the MCP door need it. */
export interface RpcStack {
  /** connect-node: Connect, gRPC-Web and all HTTP/1.1. */
  readonly http: ReturnType<typeof connectNodeAdapter>;
  /** grpc-js: every HTTP/2 stream with content-type application/grpc. */
  readonly grpc: NativeStreamHandler;
  /** MemoryService for in-process front doors (MCP). */
  readonly callInProcess: CallInProcess;
}

/**
 * The service table (MemoryService, health, reflection v1 and v1alpha), the
 * authentication gate, the interceptors and the two transports that serve
 * them: every transport runs the same implementations through the same gate
 * and interceptors (docs/architecture.md, "One request pipeline").
 */
export function createRpcStack(options: {
  readonly engram: Engram;
  readonly health: HealthStatus;
  readonly authenticator: Authenticator;
  readonly metrics: EngramMetrics;
  readonly logger: Logger;
  readonly maxTimeoutMs: number;
  /** Aborts every call in flight when the server gives up draining. */
  readonly shutdownSignal: AbortSignal;
}): RpcStack {
  const { maxTimeoutMs, shutdownSignal } = options;
  const serviceNames = [
    MemoryService.typeName,
    Health.typeName,
    ServerReflection.typeName,
    ServerReflectionV1Alpha.typeName,
  ];
  const reflection = reflectionHandlers(
    [
      file_engram_v1_memory_service,
      file_grpc_health_v1_health,
      file_grpc_reflection_v1_reflection,
      file_grpc_reflection_v1alpha_reflection,
    ],
    serviceNames,
  );
  const memoryService = served(MemoryService, memoryServiceHandlers(options.engram));
  const services: ServedService[] = [
    memoryService,
    served(Health, healthHandlers(options.health)),
    served(ServerReflection, reflection),
    // v1alpha's messages are v1's under another package: the same handler serves both.
    served(ServerReflectionV1Alpha, reflection as unknown as ServiceImpl<typeof ServerReflectionV1Alpha>),
  ];
  const interceptors = requestInterceptors(options.metrics, options.logger, maxTimeoutMs);
  const refusals = new Refusals(options.metrics, options.logger);
  // Refused before the interceptors run: counted by Refusals, so dashboards see refused traffic too.
  const requestGate = refusals.counted(options.authenticator.gate);

  const http = connectNodeAdapter({
    routes: (router) => {
      for (const { service, impl } of services) router.service(service, impl as never);
    },
    interceptors,
    requestGate,
    contextValues: (req) => {
      const socket = req.socket as TLSSocket;
      return peerValues(
        socket.authorized ? firstOf(socket.getPeerCertificate().subject?.CN) : undefined,
        socket.remoteAddress,
      );
    },
    readMaxBytes: limits.requestBytes,
    // Deadlines above the configured maximum are clamped by clampDeadline, not refused; only one past
    // what a timer can hold (~24.8 days) is refused, as it would otherwise fire at once.
    maxTimeoutMs: 2_147_483_647,
    shutdownSignal,
  });
  const grpc = nativeGrpcStreamHandler({
    refused: refusals.refused,
    services,
    interceptors,
    requestGate,
    contextValues: (call) =>
      peerValues(firstOf(call.getAuthContext().sslPeerCertificate?.subject?.CN), peerHost(call.getPeer())),
    maxTimeoutMs,
    readMaxBytes: limits.requestBytes,
    shutdownSignal,
  });
  const callInProcess = inProcessCaller(memoryService, interceptors, {
    maxTimeoutMs,
    protocolName: "mcp",
    shutdownSignal,
  });
  return { http, grpc, callInProcess };
}

/**
 * Per-call values from the connection: a verified client certificate's CN
 * names the caller (mTLS; the listener requests certificates only with
 * rejectUnauthorized, so one presented is verified), and the peer address
 * keys anonymous callers' rate limits.
 */
function peerValues(cn: string | undefined, peerAddress: string | undefined) {
  const values = createContextValues();
  if (cn !== undefined) values.set(peerCertificateCnKey, cn);
  if (peerAddress !== undefined) values.set(peerAddressKey, peerAddress);
  return values;
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
