/**
 * Removes credentials from text a library prints, before it reaches the
 * log. Engram's own log lines carry ids and codes only; libraries print
 * what they like: grpc-js logs a request header it cannot parse with its
 * value, and the header may be `authorization`.
 */
export function scrubSecrets(text: string): string {
  return (
    text
      // grpc-js: "Failed to add metadata entry <key>: <value>. <error quoting the value>. For more…"
      .replace(/(Failed to add metadata entry [^\s:]+:)[\s\S]*/g, "$1 [value withheld]")
      .replace(/\b(Bearer|Basic)\s+[^\s"',;]+/gi, "$1 [redacted]")
      .replace(
        /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api[-_]?key|password|secret|token)(["']?\s*[:=]\s*["']?)(?!\[|(?:Bearer|Basic)\s)[^\s"',;]+/gi,
        "$1$2[redacted]",
      )
  );
}
