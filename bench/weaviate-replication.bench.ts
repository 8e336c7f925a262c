import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { startWeaviateCluster } from "../test/support/weaviate-cluster.js";
import { startWeaviate } from "../test/support/weaviate-server.js";
import { topics } from "./corpus.js";
import { startEngramProcess } from "./engram-process.js";
import { measure, printTable, type Figures } from "./measure.js";

/**
 * What replication costs a caller: Remember and Recall through Engram on a
 * three-node Weaviate with factor 3 at each consistency level, beside the
 * same calls on one node (the baseline, same run). All nodes share this
 * machine's two cores, so the cluster's figures include three processes'
 * contention, which separate machines would not have.
 */
export async function benchWeaviateReplication(options: { calls: number; concurrency: number }): Promise<void> {
  const remembers: Figures[] = [];
  const recalls: Figures[] = [];
  const run = async (label: string, url: string, grpcAddress: string, env: Record<string, string>) => {
    const engram = await startEngramProcess({
      ENGRAM_WEAVIATE_URL: url,
      ENGRAM_WEAVIATE_GRPC_ADDRESS: grpcAddress,
      ENGRAM_MODEL_PROVIDER: "local",
      ENGRAM_WEAVIATE_TIMEOUT_MS: "60000",
      ...env,
    });
    try {
      const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
      const scopeOf = (i: number) => ({
        namespace: "replication",
        userId: `${label.replace(/[^A-Za-z0-9]+/g, "-")}-${Math.abs(i) % 20}`,
      });
      remembers.push(
        await measure(
          `${label}: Remember`,
          (i) =>
            client.remember({
              scope: scopeOf(i),
              type: MemoryType.SEMANTIC,
              content: `${topics(i)} (${label} ${i})`,
              importance: 0.5,
            }),
          options,
        ),
      );
      recalls.push(
        await measure(
          `${label}: Recall`,
          (i) => client.recall({ scope: scopeOf(i), query: topics(i * 7 + 3), topK: 5 }),
          options,
        ),
      );
    } finally {
      await engram.stop();
    }
  };

  const single = await startWeaviate();
  try {
    await run("1 node", single.url, single.grpcAddress, {});
  } finally {
    await single.stop();
  }
  const cluster = await startWeaviateCluster(3);
  try {
    const node = cluster.nodes[0]!;
    for (const level of ["ONE", "QUORUM", "ALL"] as const) {
      await run(`3 nodes, factor 3, ${level}`, node.url, node.grpcAddress, {
        ENGRAM_WEAVIATE_REPLICATION_FACTOR: "3",
        ENGRAM_WEAVIATE_CONSISTENCY_LEVEL: level,
      });
    }
  } finally {
    await cluster.stop();
  }
  printTable("Remember through Engram on a replicated Weaviate (all nodes on one host)", remembers, remembers[0]!);
  printTable("Recall through Engram on a replicated Weaviate (all nodes on one host)", recalls, recalls[0]!);
}
