import { createInterface } from "node:readline";

/**
 * When `engram mcp` cannot start (a Node too old, a bad configuration, a store
 * that will not open), an agent host that only sees the process exit shows
 * "Connection closed" and hides the reason on stderr. Instead the process
 * speaks just enough MCP to refuse: every request on stdin (the first is
 * `initialize`) is answered with a JSON-RPC error carrying `reason`, which the
 * host's MCP client shows to the user; it exits when stdin closes.
 *
 * Imports nothing but node:readline, so it runs on any Node that can load
 * the entry point, including the ones it refuses.
 */
export async function refuseMcp(
  reason: string,
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  process.stderr.write(`engram: ${reason}\n`);
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    const id = requestId(line);
    if (id === undefined) continue; // a notification (or not JSON-RPC): nothing to answer
    output.write(
      `${JSON.stringify({ jsonrpc: "2.0", id, error: { code: internalError, message: `engram: ${reason}` } })}\n`,
    );
  }
}

/** JSON-RPC's "Internal error": the server cannot serve at all. */
const internalError = -32603;

function requestId(line: string): string | number | undefined {
  try {
    const message = JSON.parse(line) as { id?: unknown; method?: unknown };
    const { id } = message;
    return typeof message.method === "string" && (typeof id === "string" || typeof id === "number") ? id : undefined;
  } catch {
    return undefined;
  }
}
