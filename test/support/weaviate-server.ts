import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import { sleep } from "./memory-fixtures.js";

/**
 * A real Weaviate for the tests. There is no Docker here: Weaviate is a Go
 * program published as a Go module, so it is built once with `go install`
 * (pinned version, CGO off) into a cache outside the clone, and started per
 * test file on free ports with anonymous access, no vectorizer modules and a
 * temporary data directory.
 */
const run = promisify(execFile);
export const weaviateVersion = "v1.35.2";

function cacheDir(): string {
  return process.env.ENGRAM_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "engram");
}

export function weaviateBinary(): string {
  return join(cacheDir(), `weaviate-${weaviateVersion}`, "weaviate-server");
}

/** Builds the pinned Weaviate when the cache does not have it yet (a few minutes, once). */
export async function ensureWeaviateBinary(): Promise<string> {
  const binary = weaviateBinary();
  if (existsSync(binary)) return binary;
  const bin = join(cacheDir(), `weaviate-${weaviateVersion}`);
  mkdirSync(bin, { recursive: true });
  process.stderr.write(`engram tests: building Weaviate ${weaviateVersion} with go install (cached in ${bin})\n`);
  await run("go", ["install", `github.com/weaviate/weaviate/cmd/weaviate-server@${weaviateVersion}`], {
    env: { ...process.env, GOBIN: bin, CGO_ENABLED: "0" },
    maxBuffer: 64 * 1024 * 1024,
  });
  return binary;
}

export interface WeaviateServer {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly url: string;
  readonly grpcAddress: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startWeaviate(): Promise<WeaviateServer> {
  const binary = await ensureWeaviateBinary();
  const dataDir = mkdtempSync(join(tmpdir(), "engram-weaviate-"));
  const [httpPort, grpcPort, gossipPort, raftPort] = [
    await freePort(),
    await freePort(),
    await freePort(1),
    await freePort(1),
  ];
  const env = {
    ...process.env,
    PERSISTENCE_DATA_PATH: dataDir,
    AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: "true",
    DEFAULT_VECTORIZER_MODULE: "none",
    ENABLE_MODULES: "",
    DISABLE_TELEMETRY: "true",
    GRPC_PORT: String(grpcPort),
    CLUSTER_HOSTNAME: "engram-test",
    CLUSTER_ADVERTISE_ADDR: "127.0.0.1",
    CLUSTER_BIND_ADDR: "127.0.0.1",
    CLUSTER_GOSSIP_BIND_PORT: String(gossipPort),
    CLUSTER_DATA_BIND_PORT: String(gossipPort + 1),
    RAFT_PORT: String(raftPort),
    RAFT_INTERNAL_RPC_PORT: String(raftPort + 1),
    LOG_LEVEL: "error",
    QUERY_MAXIMUM_RESULTS: "10000",
  };
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(binary, ["--host", "127.0.0.1", "--port", String(httpPort), "--scheme", "http"], {
      env,
      stdio: "ignore",
    });
    let exited = false;
    child.once("exit", () => (exited = true));
    for (let i = 0; ; i++) {
      if (exited) throw new Error("weaviate-server exited at start-up");
      const ready = await fetch(`http://127.0.0.1:${httpPort}/v1/.well-known/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return child;
      if (i > 1200) throw new Error("weaviate-server did not become ready in 60 s");
      await sleep(50);
    }
  };
  let child = await launch();
  const terminate = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  return {
    httpPort,
    grpcPort,
    url: `http://127.0.0.1:${httpPort}`,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    kill: () => terminate("SIGKILL"),
    restart: async () => {
      child = await launch();
    },
    stop: async () => {
      await terminate("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Vitest global setup: build Weaviate before any test file needs it. */
export async function setup(): Promise<void> {
  await ensureWeaviateBinary();
}
