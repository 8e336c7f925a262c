import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { startRedis } from "../test/support/redis-servers.js";
import { startWeaviate } from "../test/support/weaviate-server.js";
import { topics } from "./corpus.js";
import { startEngramProcess, type EngramProcess } from "./engram-process.js";

/**
 * A stock Go load generator (ghz) against Engram's native gRPC port and, in
 * the same run, against a minimal grpc-go health server (bench/grpc-floor,
 * ours): the floor any gRPC server on this machine can reach. Both are built
 * with `go install`/`go build` at pinned versions and cached under
 * ~/.cache/engram. ghz uses Engram's reflection (v1alpha), no proto files.
 */
const ghzVersion = "v0.120.0";
const run = promisify(execFile);
const cacheDir = process.env.ENGRAM_CACHE_DIR ?? join(homedir(), ".cache", "engram");

interface GhzFigures {
  readonly name: string;
  readonly concurrency: number;
  readonly count: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

export async function benchGhz(options: { calls: number; concurrency: number }): Promise<void> {
  const ghz = await installGhz();
  const floorBinary = await buildFloor();
  const calls = Math.max(options.calls, 8000);
  const floor = await startFloor(floorBinary);
  // As on Redis + Weaviate below: appends measure the append, and Recall
  // and AssembleContext the seeded 1,000 memories, not compaction and
  // learning from 8,000 appended messages running beside them (the
  // learning bench measures appends that compact).
  const embedded = await startEngramProcess({ ENGRAM_SESSION_TOKEN_LIMIT: "1000000" });
  let floorFigures: GhzFigures | undefined;
  // Rows print as they are measured: a slow machine still shows what it got through.
  const load: Load = async (name, address, call, data, concurrency = options.concurrency) => {
    // Recall and AssembleContext cost far more per call: fewer of them say as much.
    const total = /Recall|AssembleContext/.test(call) ? Math.ceil(calls / 4) : calls;
    const figures = await runGhz(ghz, { name, address, call, data, calls: total, concurrency });
    floorFigures ??= figures;
    printGhzRow(figures, floorFigures);
    return figures;
  };
  printGhzHeader();
  try {
    await load("grpc-go Health/Check (floor)", floor.address, "grpc.health.v1.Health/Check", {});
    await seed(embedded);
    await engramLoads(load, embedded, "embedded", options.concurrency);
    await embedded.stop();

    const redis = await startRedis();
    const weaviate = await startWeaviate();
    const remote = await startEngramProcess({
      ENGRAM_REDIS_URL: redis.url,
      ENGRAM_WEAVIATE_URL: weaviate.url,
      ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
      ENGRAM_SESSION_TOKEN_LIMIT: "1000000",
    });
    try {
      await seed(remote);
      await engramLoads(load, remote, "Redis + Weaviate", options.concurrency);
      await load(
        "AppendMessages (Redis + Weaviate)",
        address(remote),
        "engram.v1.MemoryService/AppendMessages",
        appendData,
        64,
      );
    } finally {
      await remote.stop();
      await weaviate.stop();
      await redis.stop();
    }
  } finally {
    floor.stop();
  }
}

type Load = (name: string, address: string, call: string, data: object, concurrency?: number) => Promise<GhzFigures>;

const scope = { namespace: "bench", userId: "ghz-user" };
// One session per ghz worker: appends to a session are serialised, as in production.
const appendData = {
  scope,
  sessionId: "s-{{.WorkerID}}",
  messages: [{ role: "ROLE_USER", content: "message {{.RequestNumber}}: the user asks about flights to Lisbon" }],
};

async function engramLoads(load: Load, engram: EngramProcess, backend: string, concurrency: number): Promise<void> {
  const at = address(engram);
  await load(`Ping (${backend})`, at, "engram.v1.MemoryService/Ping", {});
  await load(`AppendMessages (${backend})`, at, "engram.v1.MemoryService/AppendMessages", appendData, concurrency);
  await load(`Recall top 10 of 1,000 (${backend})`, at, "engram.v1.MemoryService/Recall", {
    scope,
    query: "what does the user prefer for travel",
    topK: 10,
  });
  await load(`AssembleContext (${backend})`, at, "engram.v1.MemoryService/AssembleContext", {
    scope,
    sessionId: "s-0",
    query: "plan the user's next trip",
    tokenBudget: 2000,
  });
}

/** 1,000 long-term memories for the bench user, through the API. */
async function seed(engram: EngramProcess): Promise<void> {
  const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
  const contents = Array.from({ length: 1000 }, (_, i) => topics(i));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < contents.length) {
        const i = next++;
        await client.remember({ scope, type: MemoryType.SEMANTIC, content: contents[i]!, importance: 0.5 });
      }
    }),
  );
}

function address(engram: EngramProcess): string {
  return engram.baseUrl.replace(/^http:\/\//, "");
}

async function runGhz(
  ghz: string,
  o: { name: string; address: string; call: string; data: object; calls: number; concurrency: number },
  warmup = true,
): Promise<GhzFigures> {
  // ghz has no warm-up of its own: a short first run (JIT, connection, caches) is discarded.
  if (warmup) await runGhz(ghz, { ...o, calls: Math.min(1000, o.calls) }, false);
  const { stdout } = await run(
    ghz,
    [
      "--insecure",
      "--call",
      o.call,
      "--data",
      JSON.stringify(o.data),
      "--concurrency",
      String(o.concurrency),
      "--total",
      String(o.calls),
      "--format",
      "json",
      o.address,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const report = JSON.parse(stdout) as {
    count: number;
    rps: number;
    latencyDistribution: { percentage: number; latency: number }[] | null;
    statusCodeDistribution?: Record<string, number>;
  };
  const at = (percentage: number) =>
    (report.latencyDistribution?.find((d) => d.percentage === percentage)?.latency ?? Number.NaN) / 1e6;
  const errors = Object.entries(report.statusCodeDistribution ?? {})
    .filter(([code]) => code !== "OK")
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    name: o.name,
    concurrency: o.concurrency,
    count: report.count,
    rps: report.rps,
    p50Ms: at(50),
    p99Ms: at(99),
    errors,
  };
}

function printGhzHeader(): void {
  console.log("\nghz (native gRPC, stock Go load generator) against the grpc-go floor, same run");
  console.log("| call | in flight | calls | errors | req/s | p50 ms | p99 ms | req/s vs floor | p50 vs floor |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
}

function printGhzRow(r: GhzFigures, floor: GhzFigures): void {
  console.log(
    `| ${r.name} | ${r.concurrency} | ${r.count} | ${r.errors} | ${Math.round(r.rps)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${(r.rps / floor.rps).toFixed(2)}× | ${(r.p50Ms / floor.p50Ms).toFixed(1)}× |`,
  );
}

/** ghz, built once with `go install` at the pinned version. */
async function installGhz(): Promise<string> {
  const bin = join(cacheDir, `ghz-${ghzVersion}`);
  const binary = join(bin, "ghz");
  if (existsSync(binary)) return binary;
  process.stderr.write(`engram bench: building ghz ${ghzVersion} with go install (cached in ${bin})\n`);
  const staging = `${bin}.staging`;
  rmSync(staging, { recursive: true, force: true });
  await run("go", ["install", `github.com/bojand/ghz/cmd/ghz@${ghzVersion}`], {
    env: { ...process.env, GOBIN: staging, CGO_ENABLED: "0" },
    maxBuffer: 64 * 1024 * 1024,
  });
  renameSync(staging, bin);
  return binary;
}

/** bench/grpc-floor, built once per version of its source. */
async function buildFloor(): Promise<string> {
  const source = join("bench", "grpc-floor");
  const hash = createHash("sha256");
  for (const file of ["main.go", "go.mod", "go.sum"]) hash.update(readFileSync(join(source, file)));
  const dir = join(cacheDir, `grpc-floor-${hash.digest("hex").slice(0, 12)}`);
  const binary = join(dir, "grpc-floor");
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  await run("go", ["build", "-o", `${binary}.tmp`, "."], {
    cwd: source,
    env: { ...process.env, CGO_ENABLED: "0" },
  });
  renameSync(`${binary}.tmp`, binary);
  return binary;
}

function startFloor(binary: string): Promise<{ address: string; stop(): void }> {
  const child: ChildProcess = spawn(binary, [], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`grpc-floor exited with ${code}`)));
    createInterface({ input: child.stdout! }).once("line", (line) => {
      const port = /^listening (\d+)$/.exec(line)?.[1];
      if (!port) return reject(new Error(`grpc-floor said ${line}`));
      resolve({ address: `127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") });
    });
  });
}
