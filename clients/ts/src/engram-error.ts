import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Is thrown by every failed call. `code` is the gRPC status: INVALID_ARGUMENT
 * (the message names the field), NOT_FOUND, RESOURCE_EXHAUSTED,
 * PERMISSION_DENIED, UNAVAILABLE (safe to retry), DEADLINE_EXCEEDED, …
 */
export class EngramError extends ConnectError {
  override name = "EngramError";

  static fromError(reason: unknown): EngramError {
    if (reason instanceof EngramError) return reason;
    const error = ConnectError.from(reason);
    return new EngramError(error.rawMessage, error.code, error.metadata, undefined, error.cause);
  }
}

export { Code };
