import { createHash, timingSafeEqual } from "node:crypto";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { RateLimiter } from "../domain/rate-limit.js";
import { anonymousCaller, type Caller } from "../domain/authorization.js";
import { RateLimitedError, UnauthenticatedError } from "../domain/errors.js";
import type { TokenEntry } from "../domain/token-entries.js";
import { toConnectError } from "./error-mapping.js";

/**
 * Bearer-token and client-certificate authentication. Tokens are configured
 * only as SHA-256 hashes (from a file mounted from a Kubernetes Secret),
 * each bound to a caller's namespaces and permissions; the server never
 * holds a plaintext token. A verified client certificate grants only what
 * the entry with its `certificateCn` grants. With no tokens configured,
 * every call is the anonymous caller (allowed only on loopback unless
 * insecure mode is set explicitly), or, under mTLS with
 * ENGRAM_MTLS_ALLOW_ANY_CN=true, every certificate holder is an admin.
 */

export const callerKey = createContextKey<Caller>(anonymousCaller, { description: "the authenticated caller" });

/** The common name of a verified client certificate, set per request from the TLS socket. */
export const peerCertificateCnKey = createContextKey<string | undefined>(undefined, {
  description: "verified client certificate CN",
});

/** The caller's network address (no port), set per request: the rate-limit key of anonymous callers. */
export const peerAddressKey = createContextKey<string | undefined>(undefined, { description: "peer address" });

export class Authenticator {
  private readonly byHash: readonly { hash: Buffer; caller: Caller }[];
  private readonly byCertificate: ReadonlyMap<string, Caller>;

  constructor(
    entries: readonly TokenEntry[],
    private readonly limiter?: RateLimiter,
    /** mTLS with no tokens file, explicitly allowed: any verified certificate is an admin. */
    private readonly anyCertificate = false,
  ) {
    this.byHash = entries.flatMap((e) =>
      e.tokenSha256 ? [{ hash: Buffer.from(e.tokenSha256, "hex"), caller: e }] : [],
    );
    this.byCertificate = new Map(entries.flatMap((e) => (e.certificateCn ? [[e.certificateCn, e] as const] : [])));
  }

  get enabled(): boolean {
    return this.byHash.length > 0 || this.byCertificate.size > 0 || this.anyCertificate;
  }

  /** How callers are told apart, for the start-up log. */
  get mode(): string {
    if (this.anyCertificate) return "any client certificate (every holder is an admin)";
    const ways = [
      ...(this.byHash.length > 0 ? ["bearer tokens"] : []),
      ...(this.byCertificate.size > 0 ? ["client certificates by CN"] : []),
    ];
    return ways.length > 0 ? ways.join(" and ") : "off";
  }

  /**
   * The caller presenting `authorization`, else the caller of a verified
   * client certificate, else UnauthenticatedError.
   */
  authenticate(authorization: string | null, certificateCn?: string): Caller {
    if (!this.enabled) return anonymousCaller;
    if (this.anyCertificate) {
      // The TLS handshake has already refused connections without a verified certificate.
      if (certificateCn === undefined) throw new UnauthenticatedError("a verified client certificate is required");
      return { ...anonymousCaller, name: `certificate:${certificateCn}` };
    }
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
    if (!token && certificateCn !== undefined) {
      const caller = this.byCertificate.get(certificateCn);
      if (!caller) throw new UnauthenticatedError(`client certificate "${certificateCn}" is not a known caller`);
      return caller;
    }
    if (!token) throw new UnauthenticatedError("missing bearer token: send 'authorization: Bearer <token>'");
    const hash = createHash("sha256").update(token).digest();
    // Compare against every entry in constant time per entry.
    let found: Caller | undefined;
    for (const entry of this.byHash) {
      if (entry.hash.length === hash.length && timingSafeEqual(entry.hash, hash)) found = entry.caller;
    }
    if (!found) throw new UnauthenticatedError("unknown bearer token");
    return found;
  }

  /** connect's request gate: runs before the request body is read. */
  gate = (ctx: HandlerContext): void => {
    // Health and reflection stay open for probes and tooling.
    if (ctx.service.typeName !== "engram.v1.MemoryService") return;
    ctx.values.set(
      callerKey,
      this.admit(
        ctx.requestHeader.get("authorization"),
        ctx.values.get(peerCertificateCnKey),
        ctx.values.get(peerAddressKey),
      ),
    );
  };

  /**
   * Authenticates a call on any front door (gRPC, MCP over HTTP) and takes
   * it from the caller's rate limit. Throws the ConnectError to answer with:
   * UNAUTHENTICATED, or RESOURCE_EXHAUSTED with a `retry-after-ms` header.
   */
  admit(authorization: string | null, certificateCn?: string, peerAddress?: string): Caller {
    try {
      const caller = this.authenticate(authorization, certificateCn);
      // With authentication off every caller is anonymous: one bucket per peer
      // address, so one noisy client cannot use up everyone's rate.
      const bucket = caller === anonymousCaller && peerAddress !== undefined ? `peer ${peerAddress}` : caller.name;
      const waitMs = this.limiter?.take(bucket) ?? 0;
      if (waitMs > 0)
        throw new RateLimitedError(`caller "${bucket}" is over its rate limit; retry in ${waitMs} ms`, waitMs);
      return caller;
    } catch (error) {
      // Callers of admit run before any interceptor: map the status here, by the one mapping.
      throw toConnectError(error);
    }
  }
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
