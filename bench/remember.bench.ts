import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { startRedis } from "../test/support/redis-servers.js";
import { startWeaviate } from "../test/support/weaviate-server.js";
import { topics } from "./corpus.js";
import { startEngramProcess } from "./engram-process.js";
import { measure, printTable, type Figures } from "./measure.js";

/**
 * Remember on Weaviate, settled in-process only (Weaviate alone, one
 * replica) against settled under the shared per-user write lock in Redis
 * (Redis + Weaviate, as replicas run): what the lock costs, for writers of
 * one user (who queue behind each other) and of many users (who do not).
 */
export async function benchRemember(options: { calls: number; concurrency: number }): Promise<void> {
  const [weaviate, redis] = await Promise.all([startWeaviate(), startRedis()]);
  const weaviateEnv = {
    ENGRAM_WEAVIATE_URL: weaviate.url,
    ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
  };
  const alone = await startEngramProcess(weaviateEnv);
  const locked = await startEngramProcess({ ...weaviateEnv, ENGRAM_REDIS_URL: redis.url });
  try {
    const rows: Figures[] = [];
    for (const [label, engram] of [
      ["Weaviate alone", alone],
      ["Redis + Weaviate (shared lock)", locked],
    ] as const) {
      const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
      const run = label.replace(/\W+/g, "-");
      const remember = (userId: string, i: number) =>
        client.remember({
          scope: { namespace: "bench", userId },
          type: MemoryType.SEMANTIC,
          content: `${topics(i)} (note ${i})`,
          importance: 0.5,
        });
      rows.push(await measure(`${label}: Remember, one user`, (i) => remember(`${run}-one`, i), options));
      rows.push(
        await measure(`${label}: Remember, 64 users`, (i) => remember(`${run}-${Math.abs(i) % 64}`, i), options),
      );
    }
    printTable(
      `Remember on Weaviate (loopback, new facts, gate bypassed); latency sequential, throughput at concurrency ${options.concurrency}`,
      rows,
      rows[0]!,
    );
  } finally {
    await Promise.all([alone.stop(), locked.stop()]);
    await Promise.all([weaviate.stop(), redis.stop()]);
  }
}
