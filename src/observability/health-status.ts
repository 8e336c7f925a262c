import { HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";

/**
 * Liveness: SERVING from the moment the server listens until it drains,
 * whatever the backends do, so a backend outage never restarts pods. A
 * wedged process (a blocked event loop) cannot answer at all, which the
 * probe's timeout turns into a failure.
 */
export const livenessService = "liveness";
/** Readiness: the same as "", SERVING only while every backend check passes and the server is not draining. */
export const readinessService = "readiness";

/**
 * Serving status per service, as the standard gRPC health protocol reports
 * it. "" (and `readiness`, and each served service) is the server as a
 * whole, ready for traffic; `liveness` is the process.
 */
export class HealthStatus {
  private readonly statuses = new Map<string, Status>();
  private readonly watchers = new Set<() => void>();

  constructor(services: readonly string[]) {
    for (const service of ["", readinessService, livenessService, ...services]) {
      this.statuses.set(service, Status.NOT_SERVING);
    }
  }

  /** Sets readiness: every service but liveness. */
  setReady(status: Status): void {
    for (const service of this.statuses.keys()) if (service !== livenessService) this.set(service, status);
  }

  set(service: string, status: Status): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const wake of this.watchers) wake();
  }

  /** Sets every service at once, liveness included, e.g. on shutdown. */
  setAll(status: Status): void {
    for (const service of this.statuses.keys()) this.set(service, status);
  }

  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  all(): ReadonlyMap<string, Status> {
    return this.statuses;
  }

  /** Resolves on the next change, or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.watchers.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      this.watchers.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }
}
