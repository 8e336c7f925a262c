import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { TLSSocket } from "node:tls";
import type { Code } from "@connectrpc/connect";
import { MemoryService } from "../gen/engram/v1/memory_service_pb.js";
import type { Authenticator } from "./authentication.js";
import { toConnectError } from "./error-mapping.js";

const knownMethods = new Set(MemoryService.methods.map((m) => `${MemoryService.typeName}/${m.name}`));

/**
 * Authenticates a native gRPC call on its headers, before grpc-js reads its
 * body: grpc-js buffers a request whole before any handler (and so the
 * request gate) runs, and 200 unauthenticated 3.9 MB streams grew the
 * process by 700 MB. Only the credentials are checked here; the rate limit
 * is still charged once, by the request gate, when the call runs.
 * `refused` counts and logs the refusal as the gate's refusals are.
 */
export function preAuthenticator(
  authenticator: Authenticator,
  refused: (method: string, code: Code, reason: string) => void,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => { code: Code; message: string } | undefined {
  return (stream, headers) => {
    const socket = stream.session?.socket as TLSSocket | undefined;
    const subject = socket?.authorized ? socket.getPeerCertificate().subject?.CN : undefined;
    const cn = Array.isArray(subject) ? subject[0] : subject;
    const authorization = headers.authorization;
    try {
      authenticator.authenticate(typeof authorization === "string" ? authorization : null, cn);
      return undefined;
    } catch (error) {
      const mapped = toConnectError(error);
      // The label is a known method or "unknown": a path is the caller's to choose, a metric's labels are not.
      const path = String(headers[":path"] ?? "").slice(1);
      refused(knownMethods.has(path) ? path : "unknown", mapped.code, mapped.rawMessage);
      return { code: mapped.code, message: mapped.rawMessage };
    }
  };
}
