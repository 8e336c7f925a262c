/**
 * Whether a library's error line is about a caller that went away rather
 * than a fault of the server. connect-node prints "handler for rpc X failed"
 * with the error whenever a handler's response could not be written,
 * including when the client closed its connection mid-stream (a cancelled
 * export, a slow reader cut off by a network limit): the write fails with
 * ECANCELED, EPIPE or ECONNRESET. Logged at error level, every abandoned
 * call would page an operator for nothing the server did.
 */
export function isClientGone(args: readonly unknown[]): boolean {
  const [first, reason] = args;
  if (typeof first !== "string" || !first.startsWith("handler for rpc ")) return false;
  for (let error = reason, depth = 0; error instanceof Error && depth < 4; depth++) {
    if (clientGoneCodes.has(String((error as NodeJS.ErrnoException).code))) return true;
    error = error.cause;
  }
  return false;
}

const clientGoneCodes = new Set([
  "ECANCELED",
  "EPIPE",
  "ECONNRESET",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_STREAM_DESTROYED",
  "ERR_HTTP2_STREAM_CANCEL",
  "ERR_HTTP2_INVALID_STREAM",
]);
