import { Code, ConnectError } from "@connectrpc/connect";
import { EngramError, RateLimitedError, type EngramErrorKind } from "../domain/errors.js";

/**
 * The one place that chooses a gRPC status for a failure. Domain errors map
 * by kind; errors connect raised itself (deadline, cancellation, malformed
 * request) pass through; anything else is INTERNAL with a generic message,
 * its cause left for the logs.
 */
const codes: Record<EngramErrorKind, Code> = {
  "invalid-argument": Code.InvalidArgument,
  "not-found": Code.NotFound,
  "resource-exhausted": Code.ResourceExhausted,
  "permission-denied": Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  unavailable: Code.Unavailable,
  "deadline-exceeded": Code.DeadlineExceeded,
};

export function toConnectError(error: unknown, signal?: AbortSignal): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof EngramError) {
    // A rate-limited caller is told when to come back (the header the clients' retries read).
    const metadata = error instanceof RateLimitedError ? { "retry-after-ms": String(error.retryAfterMs) } : undefined;
    return new ConnectError(error.message, codes[error.kind], metadata);
  }
  // `signal.throwIfAborted()` throws the signal's reason; connect aborts
  // handler signals with a ConnectError (deadline exceeded, shutdown), the
  // deadline cap (rpc/deadline.ts) with a DeadlineExceededError.
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof ConnectError || reason instanceof EngramError
      ? toConnectError(reason)
      : new ConnectError("the call was cancelled", Code.Canceled);
  }
  return new ConnectError("internal error", Code.Internal);
}

/** Whether a failure is worth an error-level log line (our fault or a backend's). */
export function isServerFault(code: Code): boolean {
  return code === Code.Internal || code === Code.Unknown || code === Code.Unavailable || code === Code.DataLoss;
}
