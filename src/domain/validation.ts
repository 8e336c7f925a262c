import { InvalidArgumentError } from "./errors.js";
import { limits } from "./limits.js";
import type { Metadata, Scope } from "./types.js";

/**
 * Request validation shared by every tier. Each check names the field it
 * rejects with a dotted path, so callers can act on the message.
 */

const utf8 = new TextEncoder();

export function byteLength(text: string): number {
  return utf8.encode(text).byteLength;
}

export function requireScope(scope: Scope | undefined, field = "scope"): Scope {
  if (!scope) throw new InvalidArgumentError(field, "is required");
  if (!limits.namespacePattern.test(scope.namespace)) {
    throw new InvalidArgumentError(
      `${field}.namespace`,
      scope.namespace === ""
        ? "is required"
        : "must be 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
    );
  }
  requireId(scope.userId, `${field}.user_id`);
  return scope;
}

export function requireId(value: string, field: string): string {
  if (value === "") throw new InvalidArgumentError(field, "is required");
  if (!limits.idPattern.test(value)) {
    throw new InvalidArgumentError(field, "must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':', '@', '-'");
  }
  return value;
}

/** Non-empty text of at most `maxBytes` UTF-8 bytes, without NUL characters. */
export function requireText(value: string, field: string, maxBytes: number): string {
  if (value.trim() === "") throw new InvalidArgumentError(field, "must not be empty");
  checkTextSize(value, field, maxBytes);
  return value;
}

/** Optional text: may be empty. */
/** A speaker's name: optional, at most limits.speakerNameBytes, no control characters. */
export function requireSpeakerName(value: string, field: string): string {
  optionalText(value, field, limits.speakerNameBytes);
  if (/\p{Cc}/u.test(value)) throw new InvalidArgumentError(field, "must not contain control characters");
  return value;
}

export function optionalText(value: string, field: string, maxBytes: number): string {
  if (value !== "") checkTextSize(value, field, maxBytes);
  return value;
}

function checkTextSize(value: string, field: string, maxBytes: number): void {
  // A quick upper bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (value.length * 3 > maxBytes && byteLength(value) > maxBytes) {
    throw new InvalidArgumentError(field, `must be at most ${maxBytes} bytes of UTF-8`);
  }
  if (value.includes("\u0000")) throw new InvalidArgumentError(field, "must not contain NUL characters");
}

export function requireMetadata(metadata: Metadata, field: string): Metadata {
  const keys = Object.keys(metadata);
  if (keys.length > limits.metadataEntries) {
    throw new InvalidArgumentError(field, `must have at most ${limits.metadataEntries} entries`);
  }
  for (const key of keys) {
    if (key === "") throw new InvalidArgumentError(field, "keys must not be empty");
    checkTextSize(key, `${field}[${JSON.stringify(key.slice(0, 64))}]`, limits.metadataKeyBytes);
    // Weaviate filters metadata as "key=value" strings: with '=' in a key, {"a=b": "c"} and {"a": "b=c"} would
    // be one entry there and two in SQLite, and the backends would answer a filter differently.
    if (key.includes("=")) {
      throw new InvalidArgumentError(`${field}[${JSON.stringify(key.slice(0, 64))}]`, "key must not contain '='");
    }
    checkTextSize(metadata[key] ?? "", `${field}[${JSON.stringify(key)}]`, limits.metadataValueBytes);
  }
  return metadata;
}

export function requireIntInRange(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function requireUnitInterval(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidArgumentError(field, "must be between 0 and 1");
  }
  return value;
}

/** Clocks of callers and servers drift; a minute ahead is tolerated. */
const futureTolerance = 60_000;

/** An optional time that must not be in the future (relative to `now`). */
export function requireNotFuture(value: Date | undefined, field: string, now: Date): Date | undefined {
  if (value && value.getTime() > now.getTime() + futureTolerance) {
    throw new InvalidArgumentError(field, "must not be in the future");
  }
  return value;
}

/**
 * Every instant Engram accepts (occurred_at, import times, list and recall
 * filters), the same on every backend: what a signed 64-bit count of
 * nanoseconds since 1970 holds, whole years (1677-09-21 to 2262-04-11).
 * Weaviate keeps dates that way and answered INTERNAL beyond it (a filter
 * at the end of year 9999); the embedded store and Redis hold more, but one
 * range everywhere keeps data portable between backends.
 */
export const timestampRange = {
  min: new Date("1678-01-01T00:00:00.000Z"),
  max: new Date("2261-12-31T23:59:59.999Z"),
} as const;

/** A timestamp inside `timestampRange`. */
export function requireTimestampInRange(value: Date, field: string): Date {
  const time = value.getTime();
  if (Number.isNaN(time) || time < timestampRange.min.getTime() || time > timestampRange.max.getTime()) {
    const got = Number.isNaN(time) ? "" : ` (got ${value.toISOString()})`;
    throw new InvalidArgumentError(
      field,
      `must be between ${timestampRange.min.toISOString()} and ${timestampRange.max.toISOString()}${got}; ` +
        "leave a filter bound unset for an open range",
    );
  }
  return value;
}
