import { UnavailableError } from "../../domain/errors.js";

/**
 * Translates weaviate-client failures into domain errors, in one place.
 * Connection, timeout and server-side transient failures (gRPC UNAVAILABLE,
 * DEADLINE_EXCEEDED, HTTP 5xx) become UnavailableError, and so does a
 * replicated call that found too few live replicas for its consistency
 * level (whatever status Weaviate sent it with); the rest pass through.
 */
const transient =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|UNAVAILABLE|DEADLINE_EXCEEDED|timed? ?out|socket hang up|fetch failed|connect|status code: 5\d\d|code: 5\d\d|WeaviateStartUpError|cannot achieve consistency level|cannot reach enough replicas/i;

export function isTenantNotFound(error: unknown): boolean {
  return (
    error instanceof Error &&
    /tenant not found|no tenant found|tenant .* not found|has not been found/i.test(error.message)
  );
}

/** A REST call answered 404: the object is gone (deleted by someone else meanwhile). */
export function isNotFound(error: unknown): boolean {
  return (
    error instanceof Error && (/status code: 404\b/.test(error.message) || (error as { code?: unknown }).code === 404)
  );
}

export async function translateWeaviateErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error && (transient.test(error.message) || transient.test(error.name))) {
      throw new UnavailableError("weaviate", error.message, { cause: error });
    }
    throw error;
  }
}
