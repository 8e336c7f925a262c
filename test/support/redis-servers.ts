import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
  /** The data directory (--dir): its append-only and snapshot files. */
  readonly dir: string;
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
    dir,
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

export interface RedisSentinelGroup {
  /** The sentinels' host:port, as ENGRAM_REDIS_SENTINELS takes them. */
  readonly sentinels: readonly string[];
  readonly masterName: string;
  /** The port of the node that is primary now, as the first sentinel sees it. */
  primaryPort(): Promise<number>;
  /** Asks the sentinels to promote the replica now (a planned failover; the old primary becomes a replica). */
  failover(): Promise<void>;
  /** SIGKILL on the current primary: the sentinels notice it down and promote the replica (an unplanned failover). */
  killPrimary(): Promise<void>;
  /** Starts a killed node again on its port, empty, as a replica of the current primary; resolves once it is in sync. */
  restartNode(port: number): Promise<void>;
  /** Resolves once every sentinel names a primary other than `oldPort`, and it answers as one. */
  awaitNewPrimary(oldPort: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A primary, one replica and three sentinels (a quorum of two), as a small
 * production deployment runs them, with timings shortened for tests: a
 * primary is declared down after 2 s without a reply.
 */
export async function startRedisSentinelGroup(): Promise<RedisSentinelGroup> {
  const dir = mkdtempSync(join(tmpdir(), "engram-redis-sentinel-"));
  const masterName = "engram-primary";
  const base = ["--bind", "127.0.0.1", "--save", "", "--protected-mode", "no"];
  const nodes = new Map<number, ChildProcess>();
  const startNode = async (port: number, replicaOf?: number) => {
    const nodeDir = join(dir, `node-${port}`);
    mkdirSync(nodeDir, { recursive: true });
    const args = ["--port", String(port), "--dir", nodeDir, ...base];
    if (replicaOf !== undefined) args.push("--replicaof", "127.0.0.1", String(replicaOf));
    nodes.set(port, await launch(args, port));
  };
  const replicaOfPrimary = async (port: number) => {
    const current = await primaryPort();
    return current === port ? undefined : current;
  };
  const primary = await freePort();
  const replica = await freePort();
  await startNode(primary);
  await startNode(replica, primary);
  const sentinelChildren: ChildProcess[] = [];
  const sentinels: string[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    // Sentinel rewrites its configuration file, so each gets its own, writable.
    const file = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      file,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        "protected-mode no",
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primary} 2`,
        `sentinel down-after-milliseconds ${masterName} 2000`,
        `sentinel failover-timeout ${masterName} 5000`,
        `sentinel parallel-syncs ${masterName} 1`,
        "",
      ].join("\n"),
    );
    const child = spawn("redis-server", [file, "--sentinel"], { stdio: "ignore" });
    sentinelChildren.push(child);
    sentinels.push(`127.0.0.1:${port}`);
  }
  const askSentinel = async (...args: string[]) => {
    for (const sentinel of sentinels) {
      const reply = (await redisCli(sentinelPort(sentinel), ...args)).trim();
      if (reply !== "" && !reply.startsWith("ERR") && !reply.startsWith("Could not connect")) return reply;
    }
    return "";
  };
  /** The port in a `get-master-addr-by-name` reply (0 for none). */
  const portOf = (reply: string) => Number(reply.trim().split("\n")[1] ?? 0);
  const primaryPort = async () => portOf(await askSentinel("sentinel", "get-master-addr-by-name", masterName));
  // Ready once every sentinel knows the primary and has discovered the replica and the other sentinels.
  for (;;) {
    const views = await Promise.all(sentinels.map((s) => redisCli(sentinelPort(s), "sentinel", "master", masterName)));
    const ready = views.every((view) => {
      const fields = view.trim().split("\n");
      const value = (name: string) => fields[fields.indexOf(name) + 1];
      return value("num-slaves") === "1" && value("num-other-sentinels") === "2";
    });
    if (ready) break;
    await sleep(100);
  }
  const namedByEverySentinel = async () => {
    const ports = await Promise.all(
      sentinels.map(async (s) =>
        portOf(await redisCli(sentinelPort(s), "sentinel", "get-master-addr-by-name", masterName)),
      ),
    );
    return ports.every((port) => port === ports[0]) ? ports[0]! : 0;
  };
  // Once every sentinel names it, not just one: a sentinel that learns of the switch late can still
  // hold the old view, and on a starved machine it once failed the new primary over again a second
  // after the old node came back, promoting that node while it was still empty (every write before
  // the kill lost). The sentinels' down-after is 2 s, not 1, for the same reason.
  const awaitNewPrimary = async (oldPort: number) => {
    for (;;) {
      const port = await namedByEverySentinel();
      if (port !== 0 && port !== oldPort && (await redisCli(port, "role")).startsWith("master")) return port;
      await sleep(100);
    }
  };
  return {
    sentinels,
    masterName,
    primaryPort,
    failover: async () => {
      await askSentinel("sentinel", "failover", masterName);
    },
    killPrimary: async () => {
      const port = await primaryPort();
      const child = nodes.get(port);
      if (child !== undefined) await terminate(child, "SIGKILL");
    },
    restartNode: async (port) => {
      await startNode(port, await replicaOfPrimary(port));
      // Back once it holds the primary's data: until then it is an empty replica.
      while (!(await redisCli(port, "info", "replication")).includes("master_link_status:up")) await sleep(100);
    },
    awaitNewPrimary,
    stop: async () => {
      for (const child of sentinelChildren) await terminate(child, "SIGTERM");
      for (const child of nodes.values()) await terminate(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(args: readonly string[], port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  let exited = false;
  child.once("exit", () => (exited = true));
  // Ready once it answers (after loading any append-only file), and it is this child that answers: a
  // port freed by a killed server can be taken by another test's server before this one binds it.
  for (;;) {
    if (exited) throw new Error(`redis-server on port ${port} exited at start-up (is the port taken?)`);
    const reply = await redisCli(port, "info", "server");
    if (reply.includes(`process_id:${child.pid}\r`)) return child;
    await sleep(50);
  }
}

/** What `redis-cli -p port ...args` prints, or "" when it fails (nothing listening yet, or gone). */
function redisCli(port: number | string, ...args: string[]): Promise<string> {
  return run("redis-cli", ["-p", String(port), ...args]).then(
    (r) => r.stdout,
    () => "",
  );
}

function sentinelPort(sentinel: string): string {
  return sentinel.split(":")[1]!;
}

function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  return exited;
}
