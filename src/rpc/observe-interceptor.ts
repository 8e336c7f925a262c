import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { EngramMetrics } from "../observability/metrics.js";
import type { Logger } from "../observability/logger.js";
import { RepeatThrottle } from "../observability/repeat-throttle.js";
import { isServerFault, toConnectError } from "./error-mapping.js";

/** The `method` label of RPC metrics and logs, e.g. "engram.v1.MemoryService/Recall". */
export function methodLabel(service: string, method: string): string {
  return `${service}/${method}`;
}

/**
 * Wraps every RPC: maps failures to statuses (through `toConnectError`, the
 * one mapping), records latency and status metrics, and logs failures with
 * their cause; UNAVAILABLE (a backend down) once per method and interval,
 * with a count of the repeats. Streaming calls are measured to their last message.
 */
export function observeInterceptor(metrics: EngramMetrics, logger: Logger, repeatIntervalMs = 10_000): Interceptor {
  const outages = new RepeatThrottle(repeatIntervalMs);
  // prom-client hashes a label set on every observe: look each (method, code) series up once.
  const series = new Map<string, { duration: { observe(v: number): void }; total: { inc(): void } }>();
  const seriesOf = (method: string, code: string) => {
    const key = `${method} ${code}`;
    let found = series.get(key);
    if (!found) {
      found = { duration: metrics.rpcDuration.labels(method, code), total: metrics.rpcTotal.labels(method, code) };
      series.set(key, found);
    }
    return found;
  };
  return (next) => async (req) => {
    const method = methodLabel(req.service.typeName, req.method.name);
    const started = process.hrtime.bigint();
    const finish = (error: unknown): ConnectError | undefined => {
      const mapped = error === undefined ? undefined : toConnectError(error, req.signal);
      const code = mapped ? Code[mapped.code] : "OK";
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const { duration, total } = seriesOf(method, code);
      duration.observe(seconds);
      total.inc();
      if (mapped && isServerFault(mapped.code)) {
        // A backend outage fails every call alike: its first failure is logged with the cause, the rest counted.
        const log =
          mapped.code !== Code.Unavailable ||
          outages.admit(`${method} ${code}`, (repeats) =>
            logger.error("rpc failed again", { method, code, repeats, withinMs: repeatIntervalMs }),
          );
        if (log) logger.error("rpc failed", { method, code, durationMs: Math.round(seconds * 1000), error });
      } else if (mapped) {
        logger.debug("rpc rejected", { method, code, reason: mapped.rawMessage });
      }
      return mapped;
    };
    let res;
    try {
      res = await next(req);
    } catch (error) {
      throw finish(error);
    }
    if (!res.stream) {
      finish(undefined);
      return res;
    }
    const source = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* source;
        } catch (error) {
          throw finish(error);
        }
        finish(undefined);
      })(),
    };
  };
}
