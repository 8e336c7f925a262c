import type { ServiceImpl } from "@connectrpc/connect";
import { NotFoundError } from "../domain/errors.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import type { HealthStatus } from "../observability/health-status.js";

/** The standard gRPC health service over the server's HealthStatus. */

export function healthHandlers(health: HealthStatus): ServiceImpl<typeof Health> {
  return {
    check(req) {
      const status = health.get(req.service);
      if (status === undefined) throw new NotFoundError("service", req.service);
      return { status };
    },
    list() {
      return { statuses: Object.fromEntries([...health.all()].map(([name, status]) => [name, { status }])) };
    },
    async *watch(req, ctx) {
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const status = health.get(req.service) ?? Status.SERVICE_UNKNOWN;
        if (status !== last) {
          last = status;
          yield { status };
        }
        await health.changed(ctx.signal);
      }
      // A watch ends only when the caller cancels or the server stops: say so (CANCELLED, UNAVAILABLE), not OK.
      ctx.signal.throwIfAborted();
    },
  };
}
