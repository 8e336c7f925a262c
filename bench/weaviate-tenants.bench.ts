import { readdirSync, readFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import weaviate from "weaviate-client";
import { unknownSource, type MemoryRecord, type Scope } from "../src/domain/types.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { LocalEmbedder } from "../src/models/local-embedder.js";
import { openWeaviateStores } from "../src/storage/weaviate/weaviate-store.js";
import { tenantName } from "../src/storage/weaviate/weaviate-long-term-store.js";
import { memoryRecord } from "../test/support/memory-fixtures.js";
import { startWeaviate } from "../test/support/weaviate-server.js";
import { topics } from "./corpus.js";
import { startEngramProcess } from "./engram-process.js";

const dimensions = 256;
const collection = "EngramMemory";
/** Tenants per create or status-update request: a batch is awake (about 27 open files each) until put to sleep. */
const tenantBatch = 100;

/**
 * Many users, few of them active: `tenants` users with a memory each in
 * Engram's own collection, all but `active` of them asleep (INACTIVE).
 * Open files and resident memory of the Weaviate process, against a baseline
 * from the same run (the `active` users alone, all awake), and the latency of
 * a sleeping user's first Recall through Engram (which wakes the tenant)
 * against an awake user's Recall. All-active at `tenants` is not measured:
 * it would need more file descriptors than this machine allows; its
 * estimate from the per-tenant cost is printed instead.
 */
export async function benchWeaviateTenants(options: {
  tenants: number;
  active: number;
  samples: number;
}): Promise<void> {
  const server = await startWeaviate();
  const pid = server.pid()!;
  const limits = readFileSync(`/proc/${pid}/limits`, "utf8").match(/Max open files\s+(\d+)\s+(\d+)/);
  const openFiles = () => readdirSync(`/proc/${pid}/fd`).length;
  const rssMiB = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
  const embedder = new LocalEmbedder(dimensions);
  const config = {
    url: server.url,
    grpcAddress: server.grpcAddress,
    apiKey: undefined,
    collection,
    timeoutMs: 120_000,
    batchSize: 500,
  };
  // Makes Engram's collection (and registry) as the server would.
  const stores = await openWeaviateStores(config, dimensions);
  await stores.health.check();
  const direct = await weaviate.connectToCustom({
    httpHost: "127.0.0.1",
    httpPort: server.httpPort,
    grpcHost: "127.0.0.1",
    grpcPort: server.grpcPort,
    timeout: { init: 120, query: 120, insert: 120 },
  });
  const engram = await startEngramProcess({
    ENGRAM_WEAVIATE_URL: server.url,
    ENGRAM_WEAVIATE_GRPC_ADDRESS: server.grpcAddress,
    ENGRAM_MODEL_PROVIDER: "local",
    ENGRAM_EMBEDDING_DIMENSIONS: String(dimensions),
    ENGRAM_WEAVIATE_TIMEOUT_MS: "60000",
  });
  try {
    const memories = direct.collections.get(collection).tenants;
    const record = (scope: Scope, i: number): MemoryRecord => {
      const content = topics(i);
      return memoryRecord(scope, content, { source: unknownSource, embedding: embedder.embedOne(content) });
    };
    const users = Array.from({ length: options.tenants }, (_, i) => ({ namespace: "tenants", userId: `user-${i}` }));
    /** Creates these users' tenants (batched), writes a memory to each, and optionally puts them to sleep. */
    const populate = async (scopes: readonly Scope[], sleep: boolean) => {
      for (let i = 0; i < scopes.length; i += tenantBatch) {
        const batch = scopes.slice(i, i + tenantBatch);
        const names = batch.map((scope) => ({ name: tenantName(scope) }));
        await memories.create(names);
        const { failed } = await stores.longTerm.insertMany(batch.map((scope, j) => record(scope, i + j)));
        if (failed.length > 0) throw new Error(`seeding failed: ${failed[0]!.error}`);
        if (sleep) await memories.update(names.map(({ name }) => ({ name, activityStatus: "INACTIVE" as const })));
      }
    };

    const empty = { files: openFiles(), rss: rssMiB() };
    const baselineStarted = performance.now();
    await populate(users.slice(0, options.active), false);
    const baselineSeconds = (performance.now() - baselineStarted) / 1000;
    const baseline = { files: openFiles(), rss: rssMiB() };
    const manyStarted = performance.now();
    await populate(users.slice(options.active), true);
    const manySeconds = (performance.now() - manyStarted) / 1000;
    const many = { files: openFiles(), rss: rssMiB() };
    const asleep = Object.values(await memories.get()).filter((t) => t.activityStatus === "INACTIVE").length;

    // Recalls through Engram: awake users (baseline), then sleeping users' first access, then their second.
    const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
    const recallEach = async (scopes: readonly Scope[]) => {
      const latencies: number[] = [];
      for (const scope of scopes) {
        const started = performance.now();
        const { memories: found } = await client.recall({ scope, query: topics(7), topK: 3 });
        latencies.push(performance.now() - started);
        if (found.length === 0) throw new Error(`recall found nothing for ${scope.userId}`);
      }
      return percentiles(latencies);
    };
    const spread = (from: number, to: number) =>
      Array.from({ length: options.samples }, (_, k) => users[from + Math.floor(((to - from) * k) / options.samples)]!);
    const awakeUsers = spread(0, options.active);
    await recallEach(awakeUsers.slice(0, 10)); // warm-up: connections, the embedder
    const awake = await recallEach(awakeUsers);
    const sleepingUsers = spread(options.active, options.tenants);
    const firstAccess = await recallEach(sleepingUsers);
    const secondAccess = await recallEach(sleepingUsers);
    const woken = { files: openFiles(), rss: rssMiB() };

    const perActive = (baseline.files - empty.files) / options.active;
    const perAsleep = (many.files - baseline.files) / (options.tenants - options.active);
    console.log(
      `\nWeaviate with ${options.tenants} tenants (one memory each, Engram's collection), ${asleep} asleep; ` +
        `Weaviate's open-file limit ${limits?.[1]} soft / ${limits?.[2]} hard`,
    );
    console.log("| state | tenants active | asleep | open files | RSS MiB |");
    console.log("|---|---:|---:|---:|---:|");
    console.log(`| no tenants | 0 | 0 | ${empty.files} | ${empty.rss.toFixed(0)} |`);
    console.log(
      `| baseline: ${options.active} users, all awake | ${options.active} | 0 | ${baseline.files} | ${baseline.rss.toFixed(0)} |`,
    );
    console.log(
      `| ${options.tenants} users, ${options.active} awake | ${options.active} | ${asleep} | ${many.files} | ${many.rss.toFixed(0)} |`,
    );
    console.log(
      `| after ${options.samples} sleeping users' first Recall | ${options.active + options.samples} | ${asleep - options.samples} | ${woken.files} | ${woken.rss.toFixed(0)} |`,
    );
    console.log(
      `Open files per awake tenant ${perActive.toFixed(1)}, per sleeping tenant ${perAsleep.toFixed(2)}; ` +
        `all ${options.tenants} awake would need about ${Math.round(empty.files + perActive * options.tenants)} ` +
        `(limit ${limits?.[1]}). Seeded ${options.active} in ${baselineSeconds.toFixed(0)} s, ` +
        `${options.tenants - options.active} more (created, written, put to sleep, ${tenantBatch} per request) in ${manySeconds.toFixed(0)} s.`,
    );
    console.log(`\nRecall via Engram, ${options.samples} users each, one call per user`);
    console.log("| users | p50 ms | p95 ms | p50 vs awake |");
    console.log("|---|---:|---:|---:|");
    for (const [name, figures] of [
      ["awake (baseline)", awake],
      ["asleep: first access (wakes the tenant)", firstAccess],
      ["the same users again (awake now)", secondAccess],
    ] as const) {
      console.log(
        `| ${name} | ${figures.p50.toFixed(1)} | ${figures.p95.toFixed(1)} | ${(figures.p50 / awake.p50).toFixed(1)}× |`,
      );
    }
  } finally {
    await direct.close();
    await engram.stop();
    await stores.close();
    await server.stop();
  }
}

function percentiles(latencies: number[]): { p50: number; p95: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95) };
}
