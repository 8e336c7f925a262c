/**
 * Engram's domain errors: a closed set, each meaning one thing to a caller.
 * The RPC layer maps them to gRPC codes in exactly one place
 * (`rpc/error-mapping.ts`); adapters translate their clients' failures into
 * them. `cause` is kept for logs and never sent to callers.
 */
export abstract class EngramError extends Error {
  abstract readonly kind: EngramErrorKind;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export type EngramErrorKind =
  | "invalid-argument"
  | "not-found"
  | "resource-exhausted"
  | "permission-denied"
  | "unauthenticated"
  | "unavailable"
  | "deadline-exceeded";

/** Is thrown if a request field is missing, malformed or out of range. */
export class InvalidArgumentError extends EngramError {
  readonly kind = "invalid-argument";
  constructor(
    /** The offending field as a dotted path, e.g. `messages[2].content`. */
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** Is thrown if a session, task or memory does not exist (or expired). */
export class NotFoundError extends EngramError {
  readonly kind = "not-found";
  constructor(what: string, id: string, hint?: string) {
    super(`${what} "${id}" was not found${hint ? `: ${hint}` : ""}`);
  }
}

/** Is thrown if a documented limit would be exceeded. */
export class ResourceExhaustedError extends EngramError {
  readonly kind = "resource-exhausted";
}

/** Is thrown if a caller is over its rate limit; `retryAfterMs` says when its next call would be admitted. */
export class RateLimitedError extends ResourceExhaustedError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** Is thrown if the caller is known but not entitled to the namespace or scope. */
export class PermissionDeniedError extends EngramError {
  readonly kind = "permission-denied";
}

/** Is thrown if the caller presented no valid credentials. */
export class UnauthenticatedError extends EngramError {
  readonly kind = "unauthenticated";
}

/**
 * Is thrown if a backend (database, Redis, Weaviate, model endpoint) cannot be
 * reached or failed transiently. Nothing was applied that was acknowledged,
 * so the caller may retry.
 */
export class UnavailableError extends EngramError {
  readonly kind = "unavailable";
  constructor(
    readonly backend: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${backend} is unavailable: ${message}`, options);
  }
}

/** Is thrown if the caller's deadline passed before the work was done. */
export class DeadlineExceededError extends EngramError {
  readonly kind = "deadline-exceeded";
}
