import { formatWithOptions } from "node:util";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "./logger.js";
import { scrubSecrets } from "./secret-scrub.js";

/**
 * grpc-js's own log (by default console.error) into the structured log,
 * with credentials scrubbed: it prints a malformed request header with its
 * value, and a malformed `authorization` header is a bearer token. Global to
 * the process, as grpc-js's logger is.
 */
export function routeGrpcLogs(logger: Logger): void {
  const detail = (args: unknown[]) =>
    scrubSecrets(formatWithOptions({ breakLength: Infinity, depth: 3 }, ...args)).slice(0, 4000);
  grpc.setLogger({
    error: (...args: unknown[]) => logger.error("library output", { source: "grpc-js", detail: detail(args) }),
    info: (...args: unknown[]) => logger.info("library output", { source: "grpc-js", detail: detail(args) }),
    debug: (...args: unknown[]) => logger.debug("library output", { source: "grpc-js", detail: detail(args) }),
  });
}
