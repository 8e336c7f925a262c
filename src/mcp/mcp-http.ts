import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";
import { propagation } from "@opentelemetry/api";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Config } from "../config.js";
import { limits } from "../domain/limits.js";
import type { Scope } from "../domain/types.js";
import type { Logger } from "../observability/logger.js";
import type { Authenticator } from "../rpc/authentication.js";
import type { CallInProcess } from "../rpc/in-process-call.js";
import { toolErrorText } from "./mcp-invoke.js";
import { createMcpServer } from "./mcp-server.js";

/** Headers an MCP client's configuration sets to choose the scope (checked against the caller's namespaces). */
export const namespaceHeader = "engram-namespace";
export const userIdHeader = "engram-user-id";

export interface McpHttpListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * MCP over streamable HTTP, stateless: every POST is authenticated like a
 * gRPC call (the same bearer tokens, rate limit and client certificates,
 * giving the same caller), gets a server bound to that caller and its scope,
 * and is answered with JSON. GET (a server-initiated stream) and DELETE
 * (ending a session) have nothing to do without sessions: 405.
 */
export async function startMcpHttp(
  config: Config,
  call: CallInProcess,
  authenticator: Authenticator,
  logger: Logger,
): Promise<McpHttpListener> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://engram");
    if (url.pathname !== config.mcp.path) return reply(res, 404, `no MCP endpoint at ${url.pathname}`);
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return reply(res, 405, "this MCP endpoint is stateless: POST JSON-RPC requests");
    }
    const socket = req.socket as TLSSocket;
    const cn = socket.authorized ? socket.getPeerCertificate().subject?.CN : undefined;
    const certificateCn = typeof cn === "string" ? cn : undefined;
    let caller;
    try {
      caller = authenticator.admit(req.headers.authorization ?? null, certificateCn, req.socket.remoteAddress);
    } catch (error) {
      const mapped = error instanceof ConnectError ? error : new ConnectError("internal error", Code.Internal);
      const status = mapped.code === Code.ResourceExhausted ? 429 : 401;
      if (status === 401) res.setHeader("www-authenticate", "Bearer");
      const retry = mapped.metadata.get("retry-after-ms");
      if (retry) res.setHeader("retry-after", String(Math.ceil(Number(retry) / 1000)));
      return reply(res, status, toolErrorText(mapped));
    }
    const scope = scopeOf(req, config);
    if (typeof scope === "string") return reply(res, 400, scope);
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, limits.requestBytes));
    } catch (error) {
      return error instanceof BodyTooLarge
        ? reply(res, 413, `request body exceeds ${limits.requestBytes} bytes`)
        : reply(res, 400, "request body is not JSON");
    }
    const server = createMcpServer(call, { caller, scope, traceHeaders: traceHeaders(req) });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.once("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      logger.error("mcp request failed", { error });
      if (!res.headersSent) reply(res, 500, "internal error");
      else res.destroy();
    });
  };

  const tls = config.auth.tls;
  const server: Server = tls
    ? createHttpsServer(
        {
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          ...(tls.clientCaFile
            ? { ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        listener,
      )
    : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.mcp.port, config.server.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** The scope from the client's headers, else from configuration; a string says what is missing or malformed. */
function scopeOf(req: IncomingMessage, config: Config): Scope | string {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
  };
  const namespace = header(namespaceHeader) ?? config.mcp.namespace;
  const userId = header(userIdHeader) ?? config.mcp.userId;
  if (userId === undefined) {
    return `no user: send the ${userIdHeader} header, or set ENGRAM_MCP_USER_ID on the server`;
  }
  // The handlers validate the scope again (naming the field); these say which header to fix.
  if (!limits.namespacePattern.test(namespace)) return `${namespaceHeader}: must match ${limits.namespacePattern}`;
  if (!limits.idPattern.test(userId)) return `${userIdHeader}: must match ${limits.idPattern}`;
  return { namespace, userId };
}

/** The request's trace context headers (those the registered propagator reads), for the calls it makes. */
function traceHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const name of propagation.fields()) {
    const value = req.headers[name];
    if (typeof value === "string") headers.set(name, value);
  }
  return headers;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** An HTTP error in JSON-RPC's error shape, which MCP clients surface as is. */
function reply(res: ServerResponse, status: number, message: string): void {
  res
    .writeHead(status, { "content-type": "application/json" })
    .end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}
