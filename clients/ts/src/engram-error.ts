import { Code, ConnectError } from "@connectrpc/connect";

/** Marks errors this client made; `Symbol.for` so two copies of the package in one application agree. */
const brand = Symbol.for("engram-memory-client.EngramError");

/**
 * Is thrown by every failed call, unary or mid-stream. `code` is the gRPC
 * status: INVALID_ARGUMENT (the message names the field), NOT_FOUND,
 * RESOURCE_EXHAUSTED, PERMISSION_DENIED, UNAVAILABLE (safe to retry),
 * DEADLINE_EXCEEDED, CANCELED, …; `rawMessage` is the server's message and
 * `details` its error details.
 *
 * `instanceof EngramError` is true only for errors this client constructed:
 * ConnectError's own check accepts anything shaped like a ConnectError, so
 * it would also accept another Connect client's errors.
 */
export class EngramError extends ConnectError {
  override name = "EngramError";
  readonly [brand] = true;

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as { [brand]?: unknown })[brand] === true;
  }

  /** An EngramError for anything a call threw (a ConnectError, an abort, a network error), keeping its code and details. */
  static fromError(reason: unknown): EngramError {
    if (reason instanceof EngramError) return reason;
    const error = ConnectError.from(reason);
    const converted = new EngramError(error.rawMessage, error.code, error.metadata, undefined, error.cause ?? reason);
    converted.details.push(...error.details);
    return converted;
  }
}

export { Code };
