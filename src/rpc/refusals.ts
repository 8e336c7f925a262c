import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.js";
import type { EngramMetrics } from "../observability/metrics.js";
import { RepeatThrottle } from "../observability/repeat-throttle.js";
import { methodLabel } from "./observe-interceptor.js";

/**
 * Requests refused before any interceptor saw them, counted in the same RPC
 * metrics so dashboards see refused traffic too: those the request gate turns
 * away (no or an unknown credential, over the rate limit), and those the
 * transport cannot take (malformed, oversized), which are also logged, once
 * per method, code and interval with a count of the repeats.
 */
export class Refusals {
  private readonly throttle = new RepeatThrottle(10_000);

  constructor(
    private readonly metrics: EngramMetrics,
    private readonly logger: Logger,
  ) {}

  /** A request the transport refused: counted and logged. */
  refused = (method: string, code: Code, reason: string): void => {
    this.metrics.rpcTotal.inc({ method, code: Code[code] });
    const key = `${method} ${code}`;
    if (this.throttle.admit(key, (repeats) => this.logger.warn("request refused again", { method, repeats }))) {
      this.logger.warn("request refused", { method, code: Code[code], reason });
    }
  };

  /** `gate`, with what it refuses counted. */
  counted(gate: (ctx: HandlerContext) => void): (ctx: HandlerContext) => void {
    return (ctx) => {
      try {
        gate(ctx);
      } catch (error) {
        const code = error instanceof ConnectError ? Code[error.code] : "Unknown";
        this.metrics.rpcTotal.inc({ method: methodLabel(ctx.service.typeName, ctx.method.name), code });
        throw error;
      }
    };
  }
}
