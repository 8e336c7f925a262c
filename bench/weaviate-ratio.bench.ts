import { randomUUID } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import weaviate from "weaviate-client";
import { unknownSource, type MemoryRecord, type Scope } from "../src/domain/types.js";
import { readRecallQuery } from "../src/domain/recall-query.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { LocalEmbedder } from "../src/models/local-embedder.js";
import { openWeaviateStores } from "../src/storage/weaviate/weaviate-store.js";
import { tenantName } from "../src/storage/weaviate/weaviate-long-term-store.js";
import { startWeaviate } from "../test/support/weaviate-server.js";
import { topics } from "./corpus.js";
import { startEngramProcess } from "./engram-process.js";

const dimensions = 256;
const collection = "EngramMemory";
/** What a top-10 Recall asks Weaviate for per signal (memory-recall.ts: max(10 × 5, 50)). */
const candidates = 50;

/**
 * Issue #24, item 3: Recall through Engram on Weaviate with 100,000
 * memories in one tenant against the fair floor, the raw hybrid query sent
 * straight from weaviate-client to the same Weaviate: same tenant, same
 * query vector, same limit (50, what a top-10 Recall fetches per signal),
 * current memories only. Both sides embed their query with the same hashed
 * embedder (microseconds), so the embedding is in both and costs neither.
 *
 * Seeded straight into Weaviate by batch insert with the hashed embedder's
 * vectors (256 dimensions): 100,000 model inferences would take longer than
 * the rest of the bench, and the ratio measures the store path.
 *
 * Calls alternate floor, Recall, Recall without access tracking, one at a
 * time, so a loaded machine's drift touches all three alike.
 */
export async function benchWeaviateRatio(options: { calls: number; memories: number }): Promise<void> {
  const server = await startWeaviate();
  const embedder = new LocalEmbedder(dimensions);
  const stores = await openWeaviateStores(
    {
      url: server.url,
      grpcAddress: server.grpcAddress,
      apiKey: undefined,
      collection,
      timeoutMs: 60_000,
      batchSize: 1000,
    },
    dimensions,
  );
  const direct = await weaviate.connectToCustom({
    httpHost: "127.0.0.1",
    httpPort: server.httpPort,
    grpcHost: "127.0.0.1",
    grpcPort: server.grpcPort,
  });
  try {
    const scope: Scope = { namespace: "bench", userId: "big" };
    const seedStarted = performance.now();
    const at = new Date(Date.now() - 30 * 86_400_000);
    for (let from = 0; from < options.memories; from += 5000) {
      const batch: MemoryRecord[] = [];
      for (let i = from; i < Math.min(from + 5000, options.memories); i++) {
        const content = topics(i);
        batch.push({
          id: randomUUID(),
          scope,
          type: "semantic",
          content,
          importance: (i % 10) / 10,
          metadata: {},
          subject: "",
          pinned: false,
          occurredAt: at,
          createdAt: at,
          updatedAt: at,
          lastAccessedAt: undefined,
          accessCount: 0,
          supersededBy: undefined,
          validUntil: undefined,
          source: unknownSource,
          embedding: embedder.embedOne(content),
        });
      }
      const { failed } = await stores.longTerm.insertMany(batch);
      if (failed.length > 0) throw new Error(`seeding failed: ${failed[0]!.error}`);
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    const memories = direct.collections.get(collection).withTenant(tenantName(scope));
    const current = direct.collections.get(collection).filter.byProperty("superseded").equal(false);
    const query = (i: number) => topics(i * 7 + 3);
    const floor = (i: number) =>
      memories.query.hybrid(query(i), {
        vector: Array.from(embedder.embedOne(query(i))),
        alpha: 0.7,
        fusionType: "RelativeScore",
        maxVectorDistance: 1 - 1e-6,
        limit: candidates,
        returnMetadata: ["score"],
        filters: current,
      });
    // The two requests Engram's store sends for a Recall, side by side, from weaviate-client.
    const split = (i: number) => {
      const vector = Array.from(embedder.embedOne(query(i)));
      return Promise.all([
        memories.query.nearVector(vector, {
          limit: candidates,
          distance: 1 - 1e-6,
          returnMetadata: ["distance"],
          filters: current,
        }),
        memories.query.bm25(readRecallQuery(query(i)).terms.join(" "), {
          queryProperties: ["content"],
          limit: candidates,
          returnMetadata: ["score"],
          filters: current,
        }),
      ]);
    };

    // One phase per build, one after the other: a build's access writes load Weaviate for the calls beside them.
    const builds: [string, string][] = [];
    if (process.env.BENCH_BASELINE_MAIN)
      builds.push([`before (${process.env.BENCH_BASELINE_MAIN})`, process.env.BENCH_BASELINE_MAIN]);
    builds.push(["now", "dist/main.js"]);
    let offset = 0;
    for (const [label, main] of builds) {
      const engram = await startEngramProcess(
        {
          ENGRAM_WEAVIATE_URL: server.url,
          ENGRAM_WEAVIATE_GRPC_ADDRESS: server.grpcAddress,
          ENGRAM_MODEL_PROVIDER: "local",
          ENGRAM_EMBEDDING_DIMENSIONS: String(dimensions),
          ENGRAM_WEAVIATE_TIMEOUT_MS: "60000",
          ENGRAM_STAGE_TIMINGS: "true",
          ENGRAM_QUERY_EMBEDDING_CACHE: "0",
        },
        main,
      );
      try {
        const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
        const recall = (i: number) => client.recall({ scope, query: query(i), topK: 10 });
        const peek = (i: number) => client.recall({ scope, query: query(i), topK: 10, skipAccessTracking: true });
        const operations = { floor, split, recall, peek };
        const latencies = {
          floor: [] as number[],
          split: [] as number[],
          recall: [] as number[],
          peek: [] as number[],
        };
        for (let i = 0; i < 30; i++) for (const run of Object.values(operations)) await run(-1 - offset - i);
        await engram.stageTimings();
        for (let i = 0; i < options.calls; i++) {
          for (const [name, run] of Object.entries(operations)) {
            const started = performance.now();
            await run(offset + i);
            latencies[name as keyof typeof latencies].push(performance.now() - started);
          }
        }
        offset += options.calls + 30;
        const stages = await engram.stageTimings();
        printPhase(label, latencies, stages, { ...options, seedSeconds });
      } finally {
        await engram.stop();
      }
    }
  } finally {
    await direct.close();
    await stores.close();
    await server.stop();
  }
}

type Stages = Awaited<ReturnType<Awaited<ReturnType<typeof startEngramProcess>>["stageTimings"]>>;

function printPhase(
  label: string,
  latencies: Record<"floor" | "split" | "recall" | "peek", number[]>,
  stages: Stages,
  options: { calls: number; memories: number; seedSeconds: number },
): void {
  const at50 = (v: number[]) => percentile(v, 0.5);
  const at95 = (v: number[]) => percentile(v, 0.95);
  console.log(
    `\nRecall on Weaviate, ${label}: ${options.memories} memories in one tenant (seeded by batch insert with hashed ` +
      `256-d vectors in ${options.seedSeconds.toFixed(0)} s), ${options.calls} calls each, one at a time, interleaved; ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")} on ${availableParallelism()} cores`,
  );
  console.log("| call | p50 ms | p95 ms | p50 vs floor | p95 vs floor |");
  console.log("|---|---:|---:|---:|---:|");
  const row = (name: string, v: number[]) =>
    console.log(
      `| ${name} | ${at50(v).toFixed(2)} | ${at95(v).toFixed(2)} | ${(at50(v) / at50(latencies.floor)).toFixed(2)}× | ${(at95(v) / at95(latencies.floor)).toFixed(2)}× |`,
    );
  row(`floor: hybrid (alpha 0.7, relative score, limit ${candidates}) from weaviate-client`, latencies.floor);
  row("nearVector + bm25 side by side from weaviate-client (Engram's two queries)", latencies.split);
  row("Recall top 10 via Engram", latencies.recall);
  row("Recall top 10 via Engram, skip_access_tracking", latencies.peek);
  const ratio = at50(latencies.recall) / at50(latencies.floor);
  console.log(
    `${label}: Recall / raw hybrid floor (p50): ${ratio.toFixed(2)}× (target ≤ 1.5×: ${ratio <= 1.5 ? "met" : "not met"})`,
  );
  console.log(`\nWhere the server's time goes, ${label} (ms, mean / p50; ENGRAM_STAGE_TIMINGS; both Recall kinds)`);
  console.log("| stage | count | mean | p50 |");
  console.log("|---|---:|---:|---:|");
  for (const [stage, s] of Object.entries(stages)) {
    console.log(`| ${stage} | ${s.count} | ${s.mean.toFixed(2)} | ${s.p50.toFixed(2)} |`);
  }
  const handler = stages["recall handler"];
  const search = stages["store search"];
  if (handler && search) {
    console.log(
      `| Engram's own work in the handler (handler − store search, means) | | ${(handler.mean - search.mean).toFixed(2)} | |`,
    );
  }
}

function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
