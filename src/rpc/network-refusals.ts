import { Counter, type Registry } from "prom-client";
import type { Logger } from "../observability/logger.js";
import { RepeatThrottle } from "../observability/repeat-throttle.js";

/** Why the network layer closed or refused something; a closed set, so the metric's labels stay bounded. */
export type NetworkRefusal =
  | "connections" // over ENGRAM_NET_MAX_CONNECTIONS
  | "connections-per-address" // over ENGRAM_NET_MAX_CONNECTIONS_PER_ADDRESS
  | "headers-timeout" // no complete request headers in time
  | "body-timeout" // a request body not received whole in time
  | "idle-timeout" // a connection with no call open for too long
  | "slow-reader" // a response not read for too long
  | "streams" // over ENGRAM_NET_MAX_STREAMS
  | "unauthenticated-per-peer" // health/reflection calls over the per-address cap
  | "unauthenticated-total" // health/reflection calls over ENGRAM_NET_MAX_UNAUTHENTICATED_CALLS
  | "buffered-bytes" // request bodies over ENGRAM_NET_MAX_BUFFERED_REQUEST_MIB
  | "unauthenticated-body"; // a native gRPC call refused on its headers, its body never read

export type ListenerName = "rpc" | "metrics" | "mcp";

/**
 * Counts every refusal (engram_network_refusals_total{listener,reason}) and
 * logs the first of each kind, then one summary per interval: a flood of
 * 20,000 connections writes two lines, not 20,000.
 */
export class NetworkRefusals {
  private readonly counter: Counter<"listener" | "reason">;
  private readonly throttle = new RepeatThrottle(10_000);

  constructor(
    registry: Registry,
    private readonly logger: Logger,
  ) {
    this.counter = new Counter({
      name: "engram_network_refusals_total",
      help: "Connections and streams closed or refused by the network limits (ENGRAM_NET_*), by listener and reason.",
      labelNames: ["listener", "reason"] as const,
      registers: [registry],
    });
  }

  record(listener: ListenerName, reason: NetworkRefusal): void {
    this.counter.inc({ listener, reason });
    const first = this.throttle.admit(`${listener} ${reason}`, (repeats) =>
      this.logger.warn("network limit hit again", { listener, reason, repeats }),
    );
    if (first) this.logger.warn("network limit hit", { listener, reason });
  }
}
