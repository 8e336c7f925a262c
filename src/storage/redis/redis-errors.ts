import { ResourceExhaustedError, UnavailableError } from "../../domain/errors.js";

/**
 * Translates ioredis failures into domain errors, in one place: connection
 * loss, refused connections, timeouts and cluster reconfiguration become
 * UnavailableError (the caller may retry); a script's own limit error
 * becomes ResourceExhaustedError. Anything else is a bug and passes through.
 */
const unavailable = [
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND/,
  /Connection is closed/i,
  /Stream isn't writeable/i,
  /Command timed out/i,
  /Reached the max retries/i,
  /^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK|LOADING|MASTERDOWN|READONLY|OOM|BUSY|NOREPLICAS)/,
  /Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready/i,
];

export async function translateRedisErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateRedisError(error);
  }
}

export function translateRedisError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const limit = /^ENGRAM_LIMIT (.*)$/.exec(error.message);
  if (limit) return new ResourceExhaustedError(limit[1]!);
  const code = (error as { code?: string }).code ?? "";
  if (
    unavailable.some((pattern) => pattern.test(error.message) || pattern.test(code)) ||
    error.name === "ClusterAllFailedError"
  ) {
    return new UnavailableError("redis", error.message, { cause: error });
  }
  return error;
}
