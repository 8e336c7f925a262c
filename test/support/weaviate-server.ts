import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
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
/**
 * At least 1.37.12 / 1.38.3: earlier BM25 left matches out depending on when
 * Weaviate had last flushed (src/storage/weaviate/weaviate-version.ts).
 */
export const weaviateVersion = "v1.38.11";

function cacheDir(): string {
  return process.env.ENGRAM_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "engram");
}

export function weaviateBinary(): string {
  return join(cacheDir(), `weaviate-${weaviateVersion}`, "weaviate-server");
}

/**
 * Builds the pinned Weaviate when the cache does not have it yet (a few
 * minutes, once). Several vitest projects, and several checkouts, may ask at
 * the same time; on two cores parallel builds of the same module multiply the
 * wait, so one process builds while the others wait on a lock directory that
 * names the builder's pid (a lock whose builder has died is taken over). The
 * build goes to its own directory and the binary is renamed into place: a
 * reader never sees a half-written file.
 */
export async function ensureWeaviateBinary(): Promise<string> {
  const binary = weaviateBinary();
  if (existsSync(binary)) return binary;
  mkdirSync(join(binary, ".."), { recursive: true });
  const lock = `${binary}.build-lock`;
  for (;;) {
    if (existsSync(binary)) return binary;
    if (takeBuildLock(lock)) break;
    await sleep(2_000);
  }
  try {
    if (existsSync(binary)) return binary;
    const staging = mkdtempSync(join(binary, "..", "build-"));
    process.stderr.write(`engram tests: building Weaviate ${weaviateVersion} with go install (cached in ${binary})\n`);
    try {
      await run("go", ["install", `github.com/weaviate/weaviate/cmd/weaviate-server@${weaviateVersion}`], {
        env: { ...process.env, GOBIN: staging, CGO_ENABLED: "0" },
        maxBuffer: 64 * 1024 * 1024,
      });
      renameSync(join(staging, "weaviate-server"), binary);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return binary;
}

/** Takes the build lock (an atomic mkdir), or takes it over from a builder that is no longer alive. */
function takeBuildLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, "pid"), String(process.pid));
    return true;
  } catch {
    const holder = Number.parseInt(readFileSafely(join(lock, "pid")), 10);
    if (Number.isInteger(holder) && processIsAlive(holder)) return false;
    // No pid yet may mean the holder is between mkdir and write: give it a moment before taking over.
    const made = statSync(lock, { throwIfNoEntry: false });
    if (made === undefined) return false;
    if (!Number.isInteger(holder) && Date.now() - made.mtimeMs < 10_000) return false;
    rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

function readFileSafely(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface WeaviateServer {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly url: string;
  readonly grpcAddress: string;
  /** PERSISTENCE_DATA_PATH: the files, to look for what should have been erased. */
  readonly dataDir: string;
  /** The live process id (changes on restart), for /proc figures in benchmarks. */
  pid(): number | undefined;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Test hooks that start Weaviate must allow at least this long (see vitest.config.ts). */
export const readinessTimeoutMs = 60_000;

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
    // Weaviate multiplies its Raft timeouts by 5 by default, which makes a
    // single node wait about 10 s for its own election before it is ready.
    // A one-node test server has no network to tolerate.
    RAFT_TIMEOUTS_MULTIPLIER: "1",
    LOG_LEVEL: "error",
    QUERY_MAXIMUM_RESULTS: "10000",
  };
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(binary, ["--host", "127.0.0.1", "--port", String(httpPort), "--scheme", "http"], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    // Keep the end of Weaviate's error log, so a failed start says why.
    let stderrTail = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-2000);
    });
    let exited = false;
    child.once("exit", () => (exited = true));
    const deadline = Date.now() + readinessTimeoutMs;
    for (;;) {
      if (exited) throw new Error(`weaviate-server exited at start-up:\n${stderrTail}`);
      const ready = await fetch(`http://127.0.0.1:${httpPort}/v1/.well-known/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return child;
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`weaviate-server did not become ready in ${readinessTimeoutMs / 1000} s:\n${stderrTail}`);
      }
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
    dataDir,
    pid: () => child.pid,
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
