import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { hashToken } from "../../src/rpc/authentication.js";
import { TestAuthority, type Certificate } from "../support/certificates.js";
import { expectStatus } from "../support/expect-status.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/** TLS with client-certificate verification: a certificate names the caller. */
let server: TestServer;
let trusted: TestAuthority;
let billing: Certificate;
let stranger: Certificate;
let unnamed: Certificate;
beforeAll(async () => {
  trusted = await TestAuthority.create("trusted");
  const untrusted = await TestAuthority.create("untrusted");
  const serverCert = await trusted.issue("engram", { ip: "127.0.0.1" });
  billing = await trusted.issue("billing-svc");
  unnamed = await trusted.issue("nobody-svc");
  stranger = await untrusted.issue("billing-svc");
  const tokensFile = join(mkdtempSync(join(tmpdir(), "engram-mtls-")), "tokens.json");
  writeFileSync(
    tokensFile,
    JSON.stringify({
      callers: [
        { name: "billing", certificateCn: "billing-svc", namespaces: ["billing"], permissions: ["read", "write"] },
        { name: "chat-api", tokenSha256: hashToken("chat-token"), namespaces: ["chat"], permissions: ["read"] },
      ],
    }),
  );
  server = await startTestServer({
    ENGRAM_TLS_CERT_FILE: serverCert.certFile,
    ENGRAM_TLS_KEY_FILE: serverCert.keyFile,
    ENGRAM_TLS_CLIENT_CA_FILE: trusted.root.certFile,
    ENGRAM_AUTH_TOKENS_FILE: tokensFile,
  });
});
afterAll(() => server?.destroy());

interface TlsClientOptions {
  baseUrl: string;
  nodeOptions: { ca: Buffer; cert?: Buffer; key?: Buffer };
  interceptors: Interceptor[];
}

/** Native gRPC (grpc-js), Connect over HTTP/2 and gRPC-Web over HTTP/1.1 (ALPN picks), on one port. */
const transports: Record<string, (options: TlsClientOptions) => Transport> = {
  grpc: (options) => createGrpcTransport(options),
  "connect (HTTP/2)": (options) => createConnectTransport({ ...options, httpVersion: "2" }),
  "grpc-web (HTTP/1.1)": (options) => createGrpcWebTransport({ ...options, httpVersion: "1.1" }),
};

describe.each(Object.entries(transports))("mutual TLS over %s", (_, transport) => {
  const client = (certificate: Certificate | undefined, token?: string) =>
    createClient(
      MemoryService,
      transport({
        baseUrl: `https://127.0.0.1:${server.server.port}`,
        nodeOptions: {
          ca: trusted.root.cert,
          ...(certificate ? { cert: certificate.cert, key: certificate.key } : {}),
        },
        interceptors: token ? [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))] : [],
      }),
    );

  it("maps a trusted client certificate to its caller and that caller's namespaces", async () => {
    const billingClient = client(billing);
    await billingClient.setWorking({ scope: { namespace: "billing", userId: "u" }, taskId: "t", entries: { k: "v" } });
    await expectStatus(
      billingClient.listWorking({ scope: { namespace: "chat", userId: "u" } }),
      Code.PermissionDenied,
      /"billing"/,
    );
  });

  it("grants a certificate only what its certificateCn entry grants", async () => {
    // billing-svc holds read and write in "billing", not admin.
    await expectStatus(
      client(billing).forgetUser({ scope: { namespace: "billing", userId: "u" } }),
      Code.PermissionDenied,
      /lacks the admin scope/,
    );
    // A certificate from the trusted CA whose CN no entry names is nobody.
    await expectStatus(
      client(unnamed).listWorking({ scope: { namespace: "billing", userId: "u" } }),
      Code.Unauthenticated,
      /"nobody-svc" is not a known caller/,
    );
  });

  it("still accepts a bearer token over the verified connection", async () => {
    await client(billing, "chat-token").listWorking({ scope: { namespace: "chat", userId: "u" } });
  });

  it.each([
    ["a client certificate from an untrusted CA", () => client(stranger)],
    ["no client certificate", () => client(undefined)],
  ])("refuses %s at the handshake: no call reaches the service", async (_, open) => {
    const error = await open()
      .ping({})
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ConnectError);
    const metrics = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
    expect(metrics).not.toMatch(/MemoryService\/Ping/);
  });
});

describe("mutual TLS with no tokens file", () => {
  it("serves only with ENGRAM_MTLS_ALLOW_ANY_CN=true, says every certificate holder is an admin, and means it", async () => {
    const serverCert = await trusted.issue("engram", { ip: "127.0.0.1" });
    const env = {
      ENGRAM_TLS_CERT_FILE: serverCert.certFile,
      ENGRAM_TLS_KEY_FILE: serverCert.keyFile,
      ENGRAM_TLS_CLIENT_CA_FILE: trusted.root.certFile,
    };
    await expect(startTestServer(env)).rejects.toThrow(/^ENGRAM_MTLS_ALLOW_ANY_CN: /);

    const lines: string[] = [];
    const open = await startTestServer(
      { ...env, ENGRAM_MTLS_ALLOW_ANY_CN: "true" },
      { log: (line) => lines.push(line) },
    );
    try {
      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(entries.find((e) => e.msg === "engram listening")?.authentication).toBe(
        "any client certificate (every holder is an admin)",
      );
      expect(
        entries.find((e) => e.level === "warn" && /is an admin of every namespace/.test(String(e.msg))),
      ).toBeDefined();
      const anyHolder = createClient(
        MemoryService,
        createGrpcTransport({
          baseUrl: `https://127.0.0.1:${open.server.port}`,
          nodeOptions: { ca: trusted.root.cert, cert: unnamed.cert, key: unnamed.key },
        }),
      );
      await anyHolder.forgetUser({ scope: { namespace: "anything", userId: "u" } });
    } finally {
      await open.destroy();
    }
  });
});
