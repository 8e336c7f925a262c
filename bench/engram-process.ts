import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { freePort } from "../test/support/free-port.js";
import { heapAfterGc, type HeapAfterGc } from "./heap-probe.js";

/** USER_HZ: the unit of /proc's CPU times, 100 on Linux. */
const clockTicks = 100;

/** Engram as a separate process, so client and server do not share a CPU queue. */
export interface EngramProcess {
  readonly baseUrl: string;
  readonly pid: number;
  /** The MCP port, when ENGRAM_MCP_ENABLED. */
  readonly mcpPort: number | undefined;
  /** The server's SQLite file (ENGRAM_DATA_DIR/engram.db). */
  readonly sqlitePath: string;
  /** With ENGRAM_STAGE_TIMINGS=true: the per-stage figures since the last call (SIGUSR2). */
  stageTimings(): Promise<Record<string, { count: number; mean: number; p50: number; p99: number }>>;
  /** Resident memory of the server process, MiB (Linux /proc). */
  rssMiB(): number;
  /**
   * With the `loopProbe` option: since the last call, the event-loop tick that used the most CPU while
   * late (the server's longest synchronous step, whatever the machine's load) and the latest tick.
   */
  eventLoopBlocks(): { longestOnCpuMs: number; latestMs: number };
  /** With the `heapProbe` option: memory after a full garbage collection (see heap-probe.ts). */
  heapAfterGc(): Promise<HeapAfterGc>;
  /**
   * CPU time the server process (all its threads) has used, ms (Linux
   * /proc, 10 ms ticks): per call, the cost of a call that the machine's
   * load does not inflate as it does wall time.
   */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startEngramProcess(
  env: Record<string, string> = {},
  /** Another build's entry point (e.g. the previous commit's, for a before/after figure in one run). */
  main = "dist/main.js",
  /**
   * seed: a database file to start from (copied), e.g. memories seeded by an earlier run; nodeFlags: for
   * the server's node (e.g. --cpu-prof to find what holds its event loop); heapProbe: start it with
   * --expose-gc and an inspector on loopback, for `heapAfterGc`; loopProbe: load event-loop-probe.mjs,
   * for `eventLoopBlocks`.
   */
  options: { seed?: string; nodeFlags?: readonly string[]; heapProbe?: boolean; loopProbe?: boolean } = {},
): Promise<EngramProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "engram-bench-"));
  const inspectorPort = options.heapProbe ? await freePort() : undefined;
  const probeFlags = [
    ...(inspectorPort ? ["--expose-gc", `--inspect=127.0.0.1:${inspectorPort}`] : []),
    ...(options.loopProbe ? ["--import", fileURLToPath(new URL("./event-loop-probe.mjs", import.meta.url))] : []),
  ];
  let blocks = { longestOnCpuMs: 0, latestMs: 0 };
  if (options.seed) copyFileSync(options.seed, join(dataDir, "engram.db"));
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeFlags ?? []), ...probeFlags, main, "serve"], {
    env: {
      ...process.env,
      ENGRAM_PORT: "0",
      ENGRAM_METRICS_ENABLED: "false",
      ENGRAM_DATA_DIR: dataDir,
      ENGRAM_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The inspector announces itself on stderr; everything else the server prints there belongs in the output.
  createInterface({ input: child.stderr! }).on("line", (line) => {
    if (!/^(Debugger (listening|attached|ending)|For help, see)/.test(line)) process.stderr.write(`${line}\n`);
  });
  let mcpPort: number | undefined;
  let stagesWanted: ((stages: Record<string, { count: number; mean: number; p50: number; p99: number }>) => void)[] =
    [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`engram exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      // Node's own traces (--trace-gc and the like) share stdout with the JSON log.
      if (!line.startsWith("{")) return void process.stderr.write(`engram: ${line}\n`);
      const entry = JSON.parse(line) as {
        msg?: string;
        port?: number;
        mcpPort?: number;
        level?: string;
        stages?: Record<string, { count: number; mean: number; p50: number; p99: number }>;
        lateMs?: number;
        cpuMs?: number;
      };
      if (entry.msg === "event loop late") {
        const late = entry.lateMs ?? 0;
        // The CPU spent in the late interval, at most its length: the server's own work.
        const onCpu = Math.min(entry.cpuMs ?? 0, late + 10);
        blocks = { longestOnCpuMs: Math.max(blocks.longestOnCpuMs, onCpu), latestMs: Math.max(blocks.latestMs, late) };
        return;
      }
      if (entry.msg === "stage timings") {
        const waiting = stagesWanted;
        stagesWanted = [];
        for (const resolve of waiting) resolve(entry.stages ?? {});
      }
      if (entry.msg === "engram listening" && entry.port) {
        mcpPort = entry.mcpPort;
        resolve(entry.port);
      }
      // The server's own failures belong in the bench output.
      if (entry.level === "error") process.stderr.write(`engram: ${line}\n`);
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    mcpPort,
    sqlitePath: join(dataDir, "engram.db"),
    stageTimings: () =>
      new Promise((resolve) => {
        stagesWanted.push(resolve);
        child.kill("SIGUSR2");
      }),
    rssMiB: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
    },
    eventLoopBlocks: () => {
      const seen = blocks;
      blocks = { longestOnCpuMs: 0, latestMs: 0 };
      return seen;
    },
    heapAfterGc: () =>
      inspectorPort ? heapAfterGc(inspectorPort) : Promise.reject(new Error("started without the heapProbe option")),
    cpuMs: () => {
      // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name): user and system time in ticks.
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
