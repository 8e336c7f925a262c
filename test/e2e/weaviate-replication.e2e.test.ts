import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../src/gen/grpc/health/v1/health_pb.js";
import { openClient } from "../support/clients.js";
import { sleep } from "../support/memory-fixtures.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import { tenantName } from "../../src/storage/weaviate/weaviate-long-term-store.js";
import { startTcpBalancer } from "../support/tcp-balancer.js";
import { startWeaviateCluster, type WeaviateCluster, type WeaviateNode } from "../support/weaviate-cluster.js";

/**
 * A three-node Weaviate cluster, Engram's collection replicated three times
 * and read and written at the default consistency (QUORUM). Nodes are
 * killed with SIGKILL while several clients remember and recall: a node
 * Engram does not talk to (calls go on: two of three replicas are a quorum;
 * a second one dead leaves no quorum: UNAVAILABLE), then the node Engram
 * talks to (UNAVAILABLE until it is back), then, with Engram behind a load
 * balancer as behind a Kubernetes Service, the node its connections go to
 * (calls go on through the others). Nothing acknowledged is lost, during an
 * absence or after it, and async repair refills a node that was away.
 */
let cluster: WeaviateCluster;
let server: TestServer;
beforeAll(async () => {
  cluster = await startWeaviateCluster(3);
  const own = cluster.nodes[0]!;
  server = await startTestServer({
    ENGRAM_WEAVIATE_URL: own.url,
    ENGRAM_WEAVIATE_GRPC_ADDRESS: own.grpcAddress,
    ENGRAM_WEAVIATE_REPLICATION_FACTOR: "3",
    ENGRAM_WEAVIATE_TIMEOUT_MS: "3000",
    ENGRAM_HEALTH_CHECK_INTERVAL_MS: "100",
  });
});
afterAll(async () => {
  await server?.destroy();
  await cluster?.stop();
});

interface Traffic {
  readonly acknowledged: Map<string, { userId: string; content: string }>;
  readonly codes: Map<string, number>;
  /** Successful calls (Remember and Recall) since the last `mark()`. */
  successesSinceMark(): number;
  /** Recalls since the last `mark()` that found the caller's own memories. */
  recallsSinceMark(): number;
  mark(): void;
  stop(): Promise<void>;
}

/** Three clients, each its own user, alternating Remember and Recall until stopped (at most 3,000 calls each). */
function traffic(namespace: string, engram: TestServer = server): Traffic {
  const acknowledged = new Map<string, { userId: string; content: string }>();
  const codes = new Map<string, number>();
  let successes = 0;
  let recalls = 0;
  let stopped = false;
  const worker = async (w: number) => {
    const { client } = openClient("grpc", engram.baseUrl);
    const scope = { namespace, userId: `user-${w}` };
    for (let i = 0; i < 3000 && !stopped; i++) {
      try {
        if (i % 2 === 0) {
          const content = `note ${i} from user ${w}: the parcel locker code is ${1000 + i}`;
          const { memory } = await client.remember(
            { scope, type: MemoryType.SEMANTIC, content, importance: 0.5 },
            { timeoutMs: 5000 },
          );
          acknowledged.set(memory!.id, { userId: scope.userId, content: memory!.content });
        } else {
          const { memories } = await client.recall(
            { scope, query: "parcel locker code", topK: 3 },
            { timeoutMs: 5000 },
          );
          if (memories.length > 0) recalls++;
        }
        successes++;
      } catch (error) {
        const code = Code[ConnectError.from(error).code];
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      await sleep(10);
    }
  };
  const workers = Promise.all([0, 1, 2].map(worker));
  return {
    acknowledged,
    codes,
    successesSinceMark: () => successes,
    recallsSinceMark: () => recalls,
    mark: () => {
      successes = 0;
      recalls = 0;
    },
    stop: async () => {
      stopped = true;
      await workers;
    },
  };
}

/**
 * Every acknowledged memory, read back through Engram (QUORUM); the ids that
 * are gone or changed. A read answered UNAVAILABLE (a loaded machine's
 * health check missing a beat) says nothing about the memory: it is asked
 * again, for up to about 30 s.
 */
async function missing(
  namespace: string,
  acknowledged: Traffic["acknowledged"],
  engram: TestServer = server,
): Promise<string[]> {
  const { client } = openClient("grpc", engram.baseUrl);
  const lost: string[] = [];
  for (const [id, { userId, content }] of acknowledged) {
    for (let attempt = 0; ; attempt++) {
      try {
        const { memory } = await client.getMemory({ scope: { namespace, userId }, memoryId: id });
        if (memory?.content !== content) lost.push(id);
        break;
      } catch (error) {
        if (ConnectError.from(error).code !== Code.Unavailable || attempt >= 120) {
          lost.push(`${id}: ${Code[ConnectError.from(error).code]}`);
          break;
        }
        await sleep(250);
      }
    }
  }
  return lost;
}

/** The acknowledged memories the given node does not hold itself (asked of that replica alone). */
async function notOnNode(
  node: WeaviateNode,
  namespace: string,
  acknowledged: Traffic["acknowledged"],
): Promise<string[]> {
  const absent: string[] = [];
  for (const [id, { userId }] of acknowledged) {
    const tenant = tenantName({ namespace, userId });
    const response = await fetch(
      `${node.url}/v1/objects/EngramMemory/${id}?tenant=${tenant}&node_name=${node.name}`,
    ).catch(() => undefined);
    await response?.body?.cancel();
    if (response?.status !== 200) absent.push(id);
  }
  return absent;
}

async function waitForServing(status: Status): Promise<void> {
  const health = openClient("grpc", server.baseUrl, Health).client;
  await expect
    .poll(async () => (await health.check({ service: "" }).catch(() => undefined))?.status, { timeout: 30_000 })
    .toBe(status);
}

// Each test kills and restarts nodes and waits for them on a shared two-core
// machine: a limit on a hang, not a speed assertion (each takes 10-25 s).
describe("a replicated Weaviate (3 nodes, factor 3, QUORUM)", { timeout: 180_000 }, () => {
  it("creates Engram's collections with three replicas, async repair, and deletes that win", async () => {
    // Written once the first call has made the collections.
    const { client } = openClient("grpc", server.baseUrl);
    const scope = { namespace: "replicated", userId: "setup" };
    await client.remember({ scope, type: MemoryType.SEMANTIC, content: "the first note of all", importance: 0.5 });
    for (const collection of ["EngramMemory", "EngramMemoryUsers"]) {
      const schema = (await (await fetch(`${cluster.nodes[1]!.url}/v1/schema/${collection}`)).json()) as {
        replicationConfig: { factor: number; asyncEnabled: boolean; deletionStrategy: string };
      };
      expect(schema.replicationConfig).toMatchObject({
        factor: 3,
        asyncEnabled: true,
        deletionStrategy: "DeleteOnConflict",
      });
    }
  });

  it("keeps remembering and recalling while another node is killed, and loses nothing acknowledged", async () => {
    const load = traffic("replicated");
    await expect.poll(() => load.acknowledged.size, { timeout: 30_000 }).toBeGreaterThan(15);
    const victim: WeaviateNode = cluster.nodes[2]!;
    await victim.kill();
    load.mark();
    // Two of three replicas are a quorum: writes and recalls go on while the node is away.
    await expect.poll(() => load.successesSinceMark(), { timeout: 30_000 }).toBeGreaterThan(30);
    expect(load.recallsSinceMark()).toBeGreaterThan(0);
    const writtenWhileAway = load.acknowledged.size;
    expect(await missing("replicated", load.acknowledged)).toEqual([]);

    // A second node dies: no quorum is left, so calls are UNAVAILABLE (not
    // failed, not half-done) until it returns.
    const second = cluster.nodes[1]!;
    const unavailableBefore = load.codes.get("Unavailable") ?? 0;
    await second.kill();
    await expect.poll(() => load.codes.get("Unavailable") ?? 0, { timeout: 30_000 }).toBeGreaterThan(unavailableBefore);
    await second.restart();

    // The first node missed what was written while it was away.
    await victim.restart();
    load.mark();
    await expect.poll(() => load.successesSinceMark(), { timeout: 30_000 }).toBeGreaterThan(20);
    await load.stop();

    expect(load.acknowledged.size).toBeGreaterThan(writtenWhileAway);
    // Async repair copies what it missed to the returned node: asked before
    // the read-back below (whose QUORUM reads could repair what they read);
    // recalls read only their top 3, so most of these were never read at all.
    await expect
      .poll(async () => (await notOnNode(victim, "replicated", load.acknowledged)).length, { timeout: 60_000 })
      .toBe(0);
    expect(await missing("replicated", load.acknowledged)).toEqual([]);
    // Calls that found no quorum (two nodes dead, or one just killed) say UNAVAILABLE, and nothing else.
    expect([...load.codes.keys()].filter((code) => code !== "Unavailable")).toEqual([]);
  });

  it("answers UNAVAILABLE while the node Engram talks to is dead, and loses nothing acknowledged", async () => {
    const load = traffic("own-node");
    await expect.poll(() => load.acknowledged.size, { timeout: 30_000 }).toBeGreaterThan(15);
    const own = cluster.nodes[0]!;
    await own.kill();
    await waitForServing(Status.NOT_SERVING);
    await expect.poll(() => load.codes.get("Unavailable") ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);

    await own.restart();
    await waitForServing(Status.SERVING);
    load.mark();
    await expect.poll(() => load.successesSinceMark(), { timeout: 30_000 }).toBeGreaterThan(20);
    await load.stop();

    expect(await missing("own-node", load.acknowledged)).toEqual([]);
    // A call cut off by the kill, or made while Engram had not yet noticed it, is UNAVAILABLE; nothing else.
    expect([...load.codes.keys()].filter((code) => code !== "Unavailable")).toEqual([]);
  });

  it("behind a load balancer (a Kubernetes Service's stand-in), survives the death of the node it is connected to", async () => {
    const rest = await startTcpBalancer(cluster.nodes.map((n) => new URL(n.url).host));
    const grpc = await startTcpBalancer(cluster.nodes.map((n) => n.grpcAddress));
    const fronted = await startTestServer({
      ENGRAM_WEAVIATE_URL: `http://${rest.address}`,
      ENGRAM_WEAVIATE_GRPC_ADDRESS: grpc.address,
      ENGRAM_WEAVIATE_REPLICATION_FACTOR: "3",
      ENGRAM_WEAVIATE_TIMEOUT_MS: "3000",
      ENGRAM_HEALTH_CHECK_INTERVAL_MS: "100",
    });
    try {
      const load = traffic("balanced", fronted);
      await expect.poll(() => load.acknowledged.size, { timeout: 30_000 }).toBeGreaterThan(15);
      // The node Engram's gRPC channel is connected to through the balancer.
      const connected = grpc.openBackends()[0];
      const victim = cluster.nodes.find((n) => n.grpcAddress === connected)!;
      expect(victim).toBeDefined();
      await victim.kill();
      load.mark();
      // Without the node coming back: Engram's next connections reach the other two.
      await expect.poll(() => load.successesSinceMark(), { timeout: 30_000 }).toBeGreaterThan(30);
      expect(load.recallsSinceMark()).toBeGreaterThan(0);
      await load.stop();
      expect(await missing("balanced", load.acknowledged, fronted)).toEqual([]);
      expect([...load.codes.keys()].filter((code) => code !== "Unavailable")).toEqual([]);
      await victim.restart();
    } finally {
      await fronted.destroy();
      await Promise.all([rest.close(), grpc.close()]);
    }
  });
});
