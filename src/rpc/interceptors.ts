import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.js";
import type { EngramMetrics } from "../observability/metrics.js";
import { clampDeadline } from "./deadline.js";
import { observeInterceptor } from "./observe-interceptor.js";
import { traceInterceptor } from "./trace-interceptor.js";

/**
 * The interceptors every call runs through, whichever front door it came in
 * by (connect-node, the native gRPC bridge, MCP): the server span outermost
 * so that everything else is inside it; then metrics, logs and the one error
 * mapping; then the deadline cap, innermost, so a clamped deadline's failure
 * is mapped and counted like any other.
 */
export function requestInterceptors(metrics: EngramMetrics, logger: Logger, maxTimeoutMs: number): Interceptor[] {
  return [traceInterceptor(), observeInterceptor(metrics, logger), clampDeadline(maxTimeoutMs)];
}
