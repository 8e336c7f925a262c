import { benchAgents } from "./agents.bench.js";
import { benchBoundedWork } from "./bounded-work.bench.js";
import { benchEmbedded } from "./embedded.bench.js";
import { benchEmbedderMemory } from "./embedder-memory.bench.js";
import { benchGhz } from "./ghz.bench.js";
import { benchImport } from "./import.bench.js";
import { benchLearning } from "./learning.bench.js";
import { benchNetworkFloods } from "./network-floods.bench.js";
import { benchQueryEmbedding } from "./query-embedding.bench.js";
import { benchRecallSpeed } from "./recall-speed.bench.js";
import { benchRanking } from "./ranking.bench.js";
import { benchVectorScan } from "./vector-scan.bench.js";
import { benchRedis } from "./redis.bench.js";
import { benchRedisSentinel } from "./redis-sentinel.bench.js";
import { benchRemember } from "./remember.bench.js";
import { benchWeaviateReplication } from "./weaviate-replication.bench.js";
import { benchWeaviateTenants } from "./weaviate-tenants.bench.js";
import { benchWeaviate } from "./weaviate.bench.js";
import { benchWeaviateRatio } from "./weaviate-ratio.bench.js";

/**
 * `npm run bench`: prints latency percentiles and throughput for Engram's
 * hot RPCs, each beside a baseline measured in the same run. Figures depend
 * on the machine; the README records a run on the 2-core CI machine.
 */
// BENCH_ONLY=ghz,recall-speed,embedded,ranking,learning,redis,redis-sentinel,remember,import,weaviate,tenants,weaviate-replication,bounded-work,network-floods,agents,weaviate-ratio,embedder-memory,vector-scan,query-embedding picks scenarios; BENCH_CALLS, BENCH_CONCURRENCY and
// BENCH_MEMORIES size them.
const calls = Number(process.env.BENCH_CALLS ?? 500);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const memories = Number(process.env.BENCH_MEMORIES ?? 10_000);

console.log(`engram bench: node ${process.version}, ${calls} calls per figure`);
const only = process.env.BENCH_ONLY?.split(",");
const wanted = (name: string) => only === undefined || only.includes(name);

if (wanted("ghz")) await benchGhz({ calls, concurrency });
if (wanted("recall-speed")) await benchRecallSpeed({ memories, calls, concurrency });
if (wanted("embedded")) await benchEmbedded({ memories, calls, concurrency });
if (wanted("embedder-memory")) await benchEmbedderMemory();
if (wanted("ranking")) await benchRanking({ calls });
if (wanted("vector-scan")) await benchVectorScan({ rows: memories });
if (wanted("query-embedding")) await benchQueryEmbedding({ queries: Number(process.env.BENCH_QUERIES ?? 320) });
if (wanted("learning")) await benchLearning({ calls, concurrency });
if (wanted("bounded-work")) await benchBoundedWork();
if (wanted("network-floods")) await benchNetworkFloods();
if (wanted("agents")) await benchAgents({ calls, concurrency });
if (wanted("redis")) await benchRedis({ calls, concurrency });
if (wanted("redis-sentinel")) await benchRedisSentinel({ calls, concurrency });
if (wanted("remember")) await benchRemember({ calls, concurrency });
if (wanted("import")) await benchImport({ memories });
if (wanted("weaviate-replication")) await benchWeaviateReplication({ calls, concurrency });
if (wanted("tenants")) {
  await benchWeaviateTenants({
    tenants: Number(process.env.BENCH_SLEEPING_TENANTS ?? 10_000),
    active: Number(process.env.BENCH_ACTIVE_TENANTS ?? 300),
    samples: 100,
  });
}
if (wanted("weaviate-ratio")) {
  await benchWeaviateRatio({ calls, memories: Number(process.env.BENCH_BIG_TENANT ?? 100_000) });
}
if (wanted("weaviate")) {
  await benchWeaviate({
    calls,
    concurrency,
    bigTenant: Number(process.env.BENCH_BIG_TENANT ?? 100_000),
    tenants: Number(process.env.BENCH_TENANTS ?? 1000),
    perTenant: Number(process.env.BENCH_PER_TENANT ?? 100),
  });
}
