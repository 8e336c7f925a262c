import type { Interceptor } from "@connectrpc/connect";
import { DeadlineExceededError } from "../domain/errors.js";

/**
 * Settles with `work`, or rejects with the signal's reason as soon as the
 * call's deadline passes or the client cancels, whichever comes first. A
 * backend that hangs then costs the caller no more than its deadline; the
 * work itself is not undone, which is why every store write is atomic.
 */
export function withinDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Clamps a client's deadline to `maxTimeoutMs` instead of refusing it (as
 * connect-node's own maxTimeoutMs would): `grpcurl -max-time 1000` works,
 * and the call still ends by the server's maximum. The handler's signal is
 * the request's, so replacing it here bounds every transport alike.
 */
export function clampDeadline(maxTimeoutMs: number): Interceptor {
  return (next) => async (req) => {
    const requested = requestedTimeoutMs(req.header);
    if (requested === undefined || requested <= maxTimeoutMs) return next(req);
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new DeadlineExceededError(`the deadline passed (clamped to the server's maximum of ${maxTimeoutMs} ms)`),
        ),
      maxTimeoutMs,
    );
    let res;
    try {
      res = await next({ ...req, signal: AbortSignal.any([req.signal, controller.signal]) });
    } finally {
      // A stream's timer runs on until its last message.
      if (!res?.stream) clearTimeout(timer);
    }
    if (!res.stream) return res;
    const source = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* source;
        } finally {
          clearTimeout(timer);
        }
      })(),
    };
  };
}

const grpcTimeoutUnits: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** The timeout a gRPC, gRPC-Web or Connect client asked for, in ms, if any. */
export function requestedTimeoutMs(header: Headers): number | undefined {
  const connect = header.get("connect-timeout-ms");
  if (connect !== null && /^\d{1,10}$/.test(connect)) return Number(connect);
  const grpc = /^(\d{1,8})([HMSmun])$/.exec(header.get("grpc-timeout") ?? "");
  return grpc ? Number(grpc[1]) * grpcTimeoutUnits[grpc[2]!]! : undefined;
}
