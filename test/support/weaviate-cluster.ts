import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { sleep } from "./memory-fixtures.js";
import { ensureWeaviateBinary, readinessTimeoutMs } from "./weaviate-server.js";

/**
 * A three-node Weaviate cluster for the replication tests, from the same
 * cached binary as the one-node server: every node on loopback with its own
 * HTTP, gRPC, gossip (+1 for data) and Raft (+1 for internal RPC) ports and
 * its own data directory. Nodes find each other by gossip (CLUSTER_JOIN names
 * the first node's gossip port) and form the schema's Raft group from
 * RAFT_JOIN (node name:Raft port, resolved through gossip). CLUSTER_IN_LOCALHOST
 * tells Weaviate that nodes share one host, so it takes each peer's Raft port
 * from RAFT_JOIN (and its internal RPC port as that + 1) instead of assuming
 * every node uses its own, waiting for all
 * three (RAFT_BOOTSTRAP_EXPECT) before electing a leader.
 */
export interface WeaviateNode {
  readonly name: string;
  readonly url: string;
  readonly grpcAddress: string;
  /** The live process id (changes on restart); undefined while the node is down. */
  pid(): number | undefined;
  kill(): Promise<void>;
  /** Starts the node again on its data directory and waits until it is ready. */
  restart(): Promise<void>;
}

export interface WeaviateCluster {
  readonly nodes: readonly WeaviateNode[];
  stop(): Promise<void>;
}

interface NodePorts {
  readonly http: number;
  readonly grpc: number;
  readonly gossip: number;
  readonly raft: number;
}

export async function startWeaviateCluster(size = 3): Promise<WeaviateCluster> {
  const binary = await ensureWeaviateBinary();
  const ports: NodePorts[] = [];
  for (let i = 0; i < size; i++) {
    ports.push({ http: await freePort(), grpc: await freePort(), gossip: await freePort(1), raft: await freePort(1) });
  }
  const names = ports.map((_, i) => `engram-node-${i}`);
  const raftJoin = ports.map((p, i) => `${names[i]}:${p.raft}`).join(",");
  const dataDirs = ports.map(() => mkdtempSync(join(tmpdir(), "engram-weaviate-cluster-")));
  const gossipOf = (i: number) => `127.0.0.1:${ports[i]!.gossip}`;
  const nodes = ports.map((p, i) =>
    clusterNode(binary, names[i]!, p, dataDirs[i]!, {
      // A restarted node joins through any peer that is up (joining fails only if none is).
      CLUSTER_JOIN: ports.flatMap((_, j) => (j === i ? [] : [gossipOf(j)])).join(","),
      RAFT_JOIN: raftJoin,
      RAFT_BOOTSTRAP_EXPECT: String(size),
    }),
  );
  try {
    // The first node founds the gossip group (joining nobody); the others join it once it listens,
    // then all wait together, since none is ready before the three have elected a Raft leader.
    const first = nodes[0]!.launch({ CLUSTER_JOIN: "" });
    await untilListening(ports[0]!.gossip);
    await Promise.all([first, ...nodes.slice(1).map((n) => n.launch())]);
  } catch (error) {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    nodes,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function clusterNode(
  binary: string,
  name: string,
  ports: NodePorts,
  dataDir: string,
  clusterEnv: Record<string, string>,
): WeaviateNode & { stop(): Promise<void>; launch(override?: Record<string, string>): Promise<void> } {
  const env = {
    ...process.env,
    PERSISTENCE_DATA_PATH: dataDir,
    AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: "true",
    DEFAULT_VECTORIZER_MODULE: "none",
    ENABLE_MODULES: "",
    DISABLE_TELEMETRY: "true",
    GRPC_PORT: String(ports.grpc),
    CLUSTER_HOSTNAME: name,
    CLUSTER_ADVERTISE_ADDR: "127.0.0.1",
    CLUSTER_BIND_ADDR: "127.0.0.1",
    CLUSTER_IN_LOCALHOST: "true",
    CLUSTER_GOSSIP_BIND_PORT: String(ports.gossip),
    CLUSTER_DATA_BIND_PORT: String(ports.gossip + 1),
    RAFT_PORT: String(ports.raft),
    RAFT_INTERNAL_RPC_PORT: String(ports.raft + 1),
    // Loopback has no network to tolerate: elections and failure detection at their fastest.
    RAFT_TIMEOUTS_MULTIPLIER: "1",
    LOG_LEVEL: "error",
    QUERY_MAXIMUM_RESULTS: "10000",
    // Small caches: three nodes share a loaded two-core machine with the rest of the suite.
    GOMEMLIMIT: "512MiB",
    GOMAXPROCS: "2",
    // Async repair compares replicas every second instead of every 30 s, and
    // repairs writes older than a second instead of 30 s, so a test sees a
    // returned node catch up within seconds. A small hash tree (2^8 leaves
    // instead of 2^16) keeps each tenant replica's tree at a few KiB.
    ASYNC_REPLICATION_FREQUENCY: "1s",
    ASYNC_REPLICATION_PROPAGATION_DELAY: "1s",
    ASYNC_REPLICATION_ALIVE_NODES_CHECKING_FREQUENCY: "1s",
    ASYNC_REPLICATION_HASHTREE_HEIGHT: "8",
    ...clusterEnv,
  };
  let child: ChildProcess | undefined;
  const url = `http://127.0.0.1:${ports.http}`;
  const terminate = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const running = child;
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return resolve();
      running.once("exit", () => resolve());
      running.kill(signal);
    });
  return {
    name,
    url,
    grpcAddress: `127.0.0.1:${ports.grpc}`,
    pid: () => (child !== undefined && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    kill: () => terminate("SIGKILL"),
    stop: () => terminate("SIGTERM"),
    restart: () => launch(),
    launch: (override: Record<string, string> = {}) => launch(override),
  };

  async function launch(override: Record<string, string> = {}): Promise<void> {
    const started = spawn(binary, ["--host", "127.0.0.1", "--port", String(ports.http), "--scheme", "http"], {
      env: { ...env, ...override },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = started;
    // Keep the end of the node's error log, so a failed start says why.
    let stderrTail = "";
    started.stderr!.on("data", (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-6000);
    });
    const deadline = Date.now() + readinessTimeoutMs;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null)
        throw new Error(`weaviate node ${name} exited at start-up:\n${stderrTail}`);
      const ready = await fetch(`${url}/v1/.well-known/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) {
        started.kill("SIGKILL");
        throw new Error(`weaviate node ${name} not ready in ${readinessTimeoutMs / 1000} s:\n${stderrTail}`);
      }
      await sleep(100);
    }
  }
}

async function untilListening(port: number): Promise<void> {
  const deadline = Date.now() + readinessTimeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${readinessTimeoutMs / 1000} s`);
}
