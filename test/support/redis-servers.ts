import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import { sleep } from "./memory-fixtures.js";

/**
 * Real Redis servers for the tests, from Debian's redis-server (the test
 * command installs it when missing), on free ports with their own data
 * directories, removed afterwards.
 */
const run = promisify(execFile);

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: no chance to save anything that was not already on disk. */
  kill(): Promise<void>;
  /** Starts again on the same port and data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A standalone server. With `durable`, every write is fsynced to the
 * append-only file before Redis replies, as a deployment that promises
 * "nothing acknowledged is lost" across a Redis crash must configure it.
 */
export async function startRedis(options: { durable?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "engram-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--protected-mode", "no"];
  if (options.durable) args.push("--appendonly", "yes", "--appendfsync", "always");
  let child = await launch(args, port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: async () => {
      await terminate(child, "SIGKILL");
    },
    restart: async () => {
      child = await launch(args, port);
    },
    stop: async () => {
      await terminate(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  readonly nodes: readonly string[];
  stop(): Promise<void>;
}

/** Three masters, no replicas, joined with `redis-cli --cluster create`. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "engram-redis-cluster-"));
  const children: ChildProcess[] = [];
  const nodes: string[] = [];
  for (let i = 0; i < 3; i++) {
    // The cluster bus listens on port + 10000.
    const port = await freePort(10_000);
    const nodeDir = join(dir, String(port));
    await run("mkdir", ["-p", nodeDir]);
    children.push(
      await launch(
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          nodeDir,
          "--save",
          "",
          "--protected-mode",
          "no",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(nodeDir, "nodes.conf"),
          "--cluster-node-timeout",
          "2000",
        ],
        port,
      ),
    );
    nodes.push(`127.0.0.1:${port}`);
  }
  await run("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"]);
  for (const node of nodes) {
    const port = node.split(":")[1]!;
    while (!(await run("redis-cli", ["-p", port, "cluster", "info"])).stdout.includes("cluster_state:ok"))
      await sleep(100);
  }
  return {
    nodes,
    stop: async () => {
      for (const child of children) await terminate(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(args: readonly string[], port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  let exited = false;
  child.once("exit", () => (exited = true));
  // Ready once it answers PING (after loading any append-only file).
  for (;;) {
    if (exited) throw new Error(`redis-server on port ${port} exited at start-up`);
    const reply = await run("redis-cli", ["-p", String(port), "ping"]).then(
      (r) => r.stdout.trim(),
      () => "",
    );
    if (reply === "PONG") return child;
    await sleep(50);
  }
}

function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  return exited;
}
