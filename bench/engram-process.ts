import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

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
  /** A database file to start from (copied): e.g. memories seeded by an earlier run. */
  options: { seed?: string } = {},
): Promise<EngramProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "engram-bench-"));
  if (options.seed) copyFileSync(options.seed, join(dataDir, "engram.db"));
  const child: ChildProcess = spawn(process.execPath, [main, "serve"], {
    env: {
      ...process.env,
      ENGRAM_PORT: "0",
      ENGRAM_METRICS_ENABLED: "false",
      ENGRAM_DATA_DIR: dataDir,
      ENGRAM_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let mcpPort: number | undefined;
  let stagesWanted: ((stages: Record<string, { count: number; mean: number; p50: number; p99: number }>) => void)[] =
    [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`engram exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as {
        msg?: string;
        port?: number;
        mcpPort?: number;
        level?: string;
        stages?: Record<string, { count: number; mean: number; p50: number; p99: number }>;
      };
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
