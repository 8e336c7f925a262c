import type { IncomingMessage, ServerResponse } from "node:http";
import { HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import { livenessService, readinessService, type HealthStatus } from "./health-status.js";
import type { EngramMetrics } from "./metrics.js";

/**
 * The plain-HTTP operations listener: `/metrics` for Prometheus, and
 * `/livez` and `/readyz` (200 or 503) for probes that cannot speak gRPC over
 * TLS, such as the kubelet's: they answer exactly what the gRPC health
 * service answers for `liveness` and `readiness`.
 */
export function operationsHandler(metrics: EngramMetrics, health: HealthStatus) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "").split("?")[0];
    if (path === "/metrics") {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
      return;
    }
    const service = path === "/livez" ? livenessService : path === "/readyz" ? readinessService : undefined;
    if (service === undefined) {
      res.writeHead(404).end();
      return;
    }
    const serving = health.get(service) === Status.SERVING;
    res
      .writeHead(serving ? 200 : 503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" })
      .end(serving ? "SERVING\n" : "NOT_SERVING\n");
  };
}
