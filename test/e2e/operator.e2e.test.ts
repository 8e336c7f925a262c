import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import type { ClientSessionOptions } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../src/gen/grpc/health/v1/health_pb.js";
import { openClient } from "../support/clients.js";
import { expectStatus } from "../support/expect-status.js";
import { startTestServer } from "../support/server-harness.js";
import { startWeaviate } from "../support/weaviate-server.js";
import { onnxModelDir } from "../support/onnx-model.js";

/** What an operator trips on: typos in variables, a port already taken, the rate limit without authentication, Weaviate behind a path. */
const engram = [process.execPath, ["--import", "tsx", "src/main.ts"]] as const;
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("start-up logs", () => {
  it("warn about an ENGRAM_* variable nobody reads, and say which backend serves each tier and which embedder", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "engram-operator-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const child = spawn(engram[0], [...engram[1], "serve"], {
      env: {
        ...process.env,
        ENGRAM_DATA_DIR: dataDir,
        ENGRAM_PORT: "0",
        ENGRAM_METRICS_PORT: "0",
        // A typo: without the warning this silently falls back to the embedded store.
        ENGRAM_REDIS_UR: "redis://127.0.0.1:6379",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines: Record<string, unknown>[] = [];
    await new Promise<void>((resolve) =>
      createInterface({ input: child.stdout }).on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === "engram listening") resolve();
      }),
    );
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "warn", msg: "environment variable not used", variable: "ENGRAM_REDIS_UR" }),
    );
    const listening = lines.find((l) => l.msg === "engram listening")!;
    expect(listening.tiers).toEqual({ sessions: "embedded", working: "embedded", longTerm: "embedded" });
    // The default embedder, with the digest of its weights.
    expect(listening.embedder).toMatch(/^local-onnx\/all-MiniLM-L6-v2-int8@[0-9a-f]{12}\/384$/);
  });
});

describe("a port another process holds", () => {
  // A second `make start` beside a running one: the refusal names the variable to change, not a stack trace.
  it.each(["ENGRAM_PORT", "ENGRAM_METRICS_PORT"])("exits with code 2 naming %s", async (variable) => {
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const held = (holder.address() as AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), "engram-operator-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const child = spawn(engram[0], [...engram[1], "serve"], {
      env: {
        ...process.env,
        ENGRAM_DATA_DIR: dataDir,
        ENGRAM_PORT: "0",
        ENGRAM_METRICS_PORT: "0",
        [variable]: `${held}`,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toBe(
      `engram: invalid configuration: ${variable}: 127.0.0.1:${held} is already in use (another Engram?): ` +
        `stop what holds it, or set ${variable} to a free port (0 picks one); ` +
        "a second embedded server also needs its own ENGRAM_DATA_DIR\n",
    );
  });
});

describe("the rate limit with authentication off", () => {
  it("gives each peer address its own bucket", async () => {
    const server = await startTestServer({ ENGRAM_RATE_LIMIT_PER_SECOND: "0.001", ENGRAM_RATE_LIMIT_BURST: "2" });
    cleanups.push(() => server.destroy());
    const from = (localAddress: string) =>
      createClient(
        MemoryService,
        createGrpcTransport({ baseUrl: server.baseUrl, nodeOptions: { localAddress } as ClientSessionOptions }),
      );
    const first = from("127.0.0.1");
    await first.ping({});
    await first.ping({});
    await expectStatus(first.ping({}), Code.ResourceExhausted, /"peer 127\.0\.0\.1" is over its rate limit/);
    // Another client on another address is not held back by the first.
    const second = from("127.0.0.2");
    await second.ping({});
    await second.ping({});
    await expectStatus(second.ping({}), Code.ResourceExhausted, /"peer 127\.0\.0\.2"/);
  });
});

describe("ENGRAM_WEAVIATE_URL with a path", () => {
  it("reaches Weaviate behind a reverse proxy's path prefix", async () => {
    const weaviate = await startWeaviate();
    cleanups.push(() => weaviate.stop());
    // A reverse proxy serving Weaviate's REST API under /weaviate (and nothing at /).
    const proxied: string[] = [];
    const proxy: Server = createServer((req, res) => {
      if (!req.url!.startsWith("/weaviate/")) return void res.writeHead(404).end();
      proxied.push(req.url!);
      const upstream = request(
        {
          host: "127.0.0.1",
          port: weaviate.httpPort,
          method: req.method,
          path: req.url!.slice("/weaviate".length),
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const server = await startTestServer({
      ENGRAM_WEAVIATE_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/weaviate/`,
      ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
      ENGRAM_HEALTH_CHECK_INTERVAL_MS: "100",
    });
    cleanups.push(() => server.destroy());
    const health = openClient("grpc", server.baseUrl, Health).client;
    await expect.poll(async () => (await health.check({ service: "readiness" })).status).toBe(Status.SERVING);
    const { client } = openClient("grpc", server.baseUrl);
    const scope = { namespace: "proxied", userId: "u1" };
    const { memory } = await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "I prefer Python for scripting tasks",
      importance: 0.7,
    });
    expect((await client.getMemory({ scope, memoryId: memory!.id })).memory?.content).toBe(memory!.content);
    expect(proxied.some((path) => path.startsWith("/weaviate/v1/.well-known/ready"))).toBe(true);
    expect(proxied.some((path) => path.startsWith("/weaviate/v1/schema"))).toBe(true);
  });
});

describe("docs/operations.md: docker run", () => {
  /** The image's environment (Dockerfile ENV) plus a `docker run` line's (docs/operations.md) -e variables, run with this checkout. */
  function imageEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const dockerfile = readFileSync("Dockerfile", "utf8");
    const env: Record<string, string> = {};
    const block = /ENV ((?:[^\n]*\\\n)*[^\n]*)/.exec(dockerfile.slice(dockerfile.indexOf("AS runtime")))![1]!;
    for (const [, name, value] of block.matchAll(/(\w+)=(\S+)/g)) env[name!] = value!;
    const dataDir = mkdtempSync(join(tmpdir(), "engram-image-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    return {
      PATH: process.env.PATH,
      ...env,
      ENGRAM_DATA_DIR: dataDir,
      // Where this machine has the model the image carries in /opt/engram/model.
      ENGRAM_ONNX_MODEL_DIR: onnxModelDir,
      ENGRAM_PORT: "0",
      ENGRAM_METRICS_PORT: "0",
      ...extra,
    };
  }

  const lines = readFileSync("docs/operations.md", "utf8")
    .split("\n")
    .filter((l) => l.startsWith("docker run "));

  async function serve(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string; listening: boolean }> {
    const child = spawn(engram[0], [...engram[1], "serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    let listening = false;
    createInterface({ input: child.stdout }).on("line", (line) => {
      if ((JSON.parse(line) as { msg: string }).msg === "engram listening") {
        listening = true;
        child.kill("SIGTERM");
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    return { code, stderr, listening };
  }

  it("exits with code 2 without tokens or ENGRAM_INSECURE, as docs/operations.md says", async () => {
    const refused = await serve(imageEnv({}));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/ENGRAM_HOST: refusing to serve 0\.0\.0\.0 without authentication/);
  });

  it("starts with each documented line's variables (its tokens file mounted at the path it names)", async () => {
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const extra: Record<string, string> = {};
      for (const [, name, value] of line.matchAll(/-e (\w+)=(\S+)/g)) extra[name!] = value!;
      const mount = /-v "\$PWD\/tokens\.json:(\S+):ro"/.exec(line);
      if (mount) {
        // The container path stands for a file here with the documented format.
        const file = join(mkdtempSync(join(tmpdir(), "engram-tokens-")), "tokens.json");
        writeFileSync(
          file,
          JSON.stringify({
            callers: [{ name: "chat-api", tokenSha256: "a".repeat(64), namespaces: ["chat"], permissions: ["read"] }],
          }),
        );
        expect(extra.ENGRAM_AUTH_TOKENS_FILE).toBe(mount[1]);
        extra.ENGRAM_AUTH_TOKENS_FILE = file;
      }
      const started = await serve(imageEnv(extra));
      expect(started.listening, `${line}\n${started.stderr}`).toBe(true);
    }
  });
});
