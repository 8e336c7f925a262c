import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { startRedis } from "../test/support/redis-servers.js";
import { startWeaviate } from "../test/support/weaviate-server.js";
import { topics } from "./corpus.js";
import { startEngramProcess, type EngramProcess } from "./engram-process.js";

/**
 * ImportMemories (1,000 memories per call, settled in occurrence order,
 * embedded in one batch, one bulk insert) against Remember one at a time,
 * on the embedded default and on Redis + Weaviate: memories per second for
 * one user's history.
 */
export async function benchImport(options: { memories: number }): Promise<void> {
  const [weaviate, redis] = await Promise.all([startWeaviate(), startRedis()]);
  const deployments: [string, EngramProcess][] = [
    ["embedded", await startEngramProcess()],
    [
      "Redis + Weaviate",
      await startEngramProcess({
        ENGRAM_REDIS_URL: redis.url,
        ENGRAM_WEAVIATE_URL: weaviate.url,
        ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
      }),
    ],
  ];
  const day = 86_400_000;
  const memory = (i: number) => ({
    type: MemoryType.EPISODIC,
    content: `${topics(i)} (imported note ${i})`,
    importance: 0.5,
    occurredAt: timestampFromDate(new Date(Date.now() - (i % 365) * day)),
  });
  try {
    console.log(`\nImportMemories vs Remember, one user's history (${options.memories} memories; loopback)`);
    console.log("| deployment | how | memories | seconds | memories/s |");
    console.log("|---|---|---:|---:|---:|");
    for (const [label, engram] of deployments) {
      const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
      const timed = async (
        how: string,
        count: number,
        run: (scope: { namespace: string; userId: string }) => Promise<void>,
      ) => {
        const scope = { namespace: "bench", userId: randomUUID() };
        const started = performance.now();
        await run(scope);
        const seconds = (performance.now() - started) / 1000;
        console.log(`| ${label} | ${how} | ${count} | ${seconds.toFixed(1)} | ${Math.round(count / seconds)} |`);
      };
      await timed("ImportMemories, 1,000 per call", options.memories, async (scope) => {
        for (let i = 0; i < options.memories; i += 1000) {
          const count = Math.min(1000, options.memories - i);
          await client.importMemories({ scope, memories: Array.from({ length: count }, (_, j) => memory(i + j)) });
        }
      });
      // Remember one at a time, a tenth as many: the per-memory round trip this replaces.
      const single = Math.max(1, Math.floor(options.memories / 10));
      await timed("Remember, one per call", single, async (scope) => {
        for (let i = 0; i < single; i++) await client.remember({ scope, ...memory(i) });
      });
    }
  } finally {
    await Promise.all(deployments.map(([, engram]) => engram.stop()));
    await Promise.all([weaviate.stop(), redis.stop()]);
  }
}
