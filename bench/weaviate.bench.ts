import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import weaviate from "weaviate-client";
import { unknownSource, type MemoryRecord, type Scope } from "../src/domain/types.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { LocalEmbedder } from "../src/models/local-embedder.js";
import { openWeaviateStores } from "../src/storage/weaviate/weaviate-store.js";
import { tenantName } from "../src/storage/weaviate/weaviate-long-term-store.js";
import { startWeaviate } from "../test/support/weaviate-server.js";
import { topics } from "./corpus.js";
import { startEngramProcess } from "./engram-process.js";
import { measure, printTable, type Figures } from "./measure.js";

const dimensions = 256;
const collection = "EngramMemory";

/**
 * Recall through Engram on Weaviate with one large tenant and with many
 * small ones, against the floor: the same hybrid query sent straight from
 * weaviate-client to the same Weaviate. Then eviction throughput.
 */
export async function benchWeaviate(options: {
  calls: number;
  concurrency: number;
  bigTenant: number;
  tenants: number;
  perTenant: number;
}): Promise<void> {
  const server = await startWeaviate();
  const embedder = new LocalEmbedder(dimensions);
  const config = {
    url: server.url,
    grpcAddress: server.grpcAddress,
    apiKey: undefined,
    collection,
    timeoutMs: 60_000,
    batchSize: 500,
  };
  const stores = await openWeaviateStores(config, dimensions);
  const engram = await startEngramProcess({
    ENGRAM_WEAVIATE_URL: server.url,
    ENGRAM_WEAVIATE_GRPC_ADDRESS: server.grpcAddress,
    // Seeded straight into Weaviate with the hashed embedder's vectors (100,000
    // model inferences would take longer than the rest of the bench): this
    // measures the store path, and the query's embedding is the hashed one too.
    ENGRAM_MODEL_PROVIDER: "local",
    ENGRAM_EMBEDDING_DIMENSIONS: String(dimensions),
    ENGRAM_MAX_DEADLINE_SECONDS: "3600",
    // A shared 2-core machine under 16 concurrent hybrid queries on 100,000 objects is slow, not down.
    ENGRAM_WEAVIATE_TIMEOUT_MS: "60000",
  });
  const direct = await weaviate.connectToCustom({
    httpHost: "127.0.0.1",
    httpPort: server.httpPort,
    grpcHost: "127.0.0.1",
    grpcPort: server.grpcPort,
  });
  try {
    const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
    const old = new Date(Date.now() - 400 * 86_400_000);
    const record = (scope: Scope, i: number): MemoryRecord => {
      const content = topics(i);
      return {
        id: randomUUID(),
        scope,
        type: "semantic",
        content,
        importance: (i % 10) / 10,
        metadata: {},
        subject: "",
        pinned: false,
        occurredAt: old,
        createdAt: old,
        updatedAt: old,
        lastAccessedAt: undefined,
        accessCount: 0,
        supersededBy: undefined,
        validUntil: undefined,
        source: unknownSource,
        embedding: embedder.embedOne(content),
      };
    };
    const seed = async (scopes: Scope[], perScope: number) => {
      const started = performance.now();
      let batch: MemoryRecord[] = [];
      for (const scope of scopes) {
        for (let i = 0; i < perScope; i++) {
          batch.push(record(scope, i));
          if (batch.length === 2000) {
            const { failed } = await stores.longTerm.insertMany(batch);
            if (failed.length > 0) throw new Error(`seeding failed: ${failed[0]!.error}`);
            batch = [];
          }
        }
      }
      if (batch.length > 0) await stores.longTerm.insertMany(batch);
      return (performance.now() - started) / 1000;
    };

    const big: Scope = { namespace: "bench", userId: "big" };
    const bigSeconds = await seed([big], options.bigTenant);
    const many: Scope[] = Array.from({ length: options.tenants }, (_, i) => ({
      namespace: "bench",
      userId: `small-${i}`,
    }));
    const manySeconds = await seed(many, options.perTenant);

    const ping = await measure("Ping (Engram baseline)", () => client.ping({}), options);
    const rows: Figures[] = [];
    const floorAndEngram = async (label: string, scopeOf: (i: number) => Scope) => {
      const floor = await measure(
        `${label}: hybrid via weaviate-client (floor)`,
        (i) => {
          const query = topics(i * 7 + 3);
          const memories = direct.collections.get(collection);
          // The query Engram sends for a top-10 Recall: ENGRAM_HYBRID_ALPHA's default, relative-score
          // fusion, 50 candidates (what a top-10 Recall fetches per signal since #20), current memories only, no vectors back.
          return memories.withTenant(tenantName(scopeOf(i))).query.hybrid(query, {
            vector: Array.from(embedder.embedOne(query)),
            alpha: 0.7,
            fusionType: "RelativeScore",
            maxVectorDistance: 1 - 1e-6,
            limit: 50,
            returnMetadata: ["score"],
            filters: memories.filter.byProperty("superseded").equal(false),
          });
        },
        options,
      );
      const viaEngram = await measure(
        `${label}: Recall via Engram`,
        (i) => client.recall({ scope: scopeOf(i), query: topics(i * 7 + 3), topK: 10 }),
        options,
      );
      // The same Recall looking without touching: no access-count writes to Weaviate behind it.
      const peeking = await measure(
        `${label}: Recall via Engram, skip_access_tracking`,
        (i) => client.recall({ scope: scopeOf(i), query: topics(i * 7 + 3), topK: 10, skipAccessTracking: true }),
        options,
      );
      rows.push(floor, viaEngram, peeking);
      return { floor, viaEngram };
    };
    const bigFigures = await floorAndEngram(`1 tenant × ${options.bigTenant}`, () => big);
    const manyFigures = await floorAndEngram(
      `${options.tenants} tenants × ${options.perTenant}`,
      (i) => many[Math.abs(i) % many.length]!,
    );
    printTable(
      `Long-term memory on Weaviate (loopback); seeded ${options.bigTenant} in ${bigSeconds.toFixed(0)} s and ${options.tenants}×${options.perTenant} in ${manySeconds.toFixed(0)} s`,
      [...rows, ping],
      bigFigures.floor,
    );
    console.log(
      `Recall via Engram / floor (p50): one big tenant ${(bigFigures.viaEngram.p50Ms / bigFigures.floor.p50Ms).toFixed(1)}×, many tenants ${(manyFigures.viaEngram.p50Ms / manyFigures.floor.p50Ms).toFixed(1)}×`,
    );

    // Eviction: everything seeded is 400 days old and never used; the policy keeps importance ≥ 0.9 here.
    const evictStarted = performance.now();
    const report = await client.evictStale(
      { namespace: "bench", policy: { scoreThreshold: 0.9, halfLifeHours: 720, minAgeHours: 24 } },
      { timeoutMs: 3_600_000 },
    );
    const evictSeconds = (performance.now() - evictStarted) / 1000;
    console.log(
      `EvictStale over ${options.tenants + 1} tenants: scanned ${report.scanned}, evicted ${report.evicted} in ${evictSeconds.toFixed(1)} s = ${Math.round(Number(report.evicted) / evictSeconds)} memories/s`,
    );
    // A namespace's eviction reads only its own users (the registry), however many tenants others hold.
    const other: Scope = { namespace: "bench-other", userId: "only" };
    await seed([other], options.perTenant);
    const oneStarted = performance.now();
    const one = await client.evictStale(
      { namespace: other.namespace, policy: { scoreThreshold: 0.9, halfLifeHours: 720, minAgeHours: 24 } },
      { timeoutMs: 3_600_000 },
    );
    console.log(
      `EvictStale of a 1-user namespace beside ${options.tenants + 1} other tenants: scanned ${one.scanned} in ${((performance.now() - oneStarted) / 1000).toFixed(2)} s`,
    );
    const forget = await measure(
      `ForgetUser among ${options.tenants + 1} tenants`,
      (i) => client.forgetUser({ scope: many[Math.abs(i) % many.length]! }),
      { calls: Math.min(options.calls, many.length), concurrency: 1, warmup: 0 },
    );
    printTable(`ForgetUser on Weaviate with ${options.tenants + 1} tenants`, [forget], forget);
  } finally {
    await direct.close();
    await engram.stop();
    await stores.close();
    await server.stop();
  }
}
