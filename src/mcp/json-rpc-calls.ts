/**
 * How many calls a JSON-RPC body makes, for the rate limit: a request (a
 * message with a method and an id) is a call; a notification or a response
 * is not. One POST may carry a batch of them, and a limit of 5 calls a
 * second must not let one POST of 100 `tools/call` through.
 */
export function jsonRpcCalls(body: unknown): number {
  const messages = Array.isArray(body) ? body : [body];
  let calls = 0;
  for (const message of messages) {
    if (typeof message === "object" && message !== null && "method" in message && "id" in message) calls++;
  }
  return calls;
}
