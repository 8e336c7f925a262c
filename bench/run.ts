import { benchEmbedded } from "./embedded.bench.js";

/**
 * `npm run bench`: prints latency percentiles and throughput for Engram's
 * hot RPCs, each beside a baseline measured in the same run. Figures depend
 * on the machine; the README records a run on the 2-core CI machine.
 */
const calls = Number(process.env.BENCH_CALLS ?? 500);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const memories = Number(process.env.BENCH_MEMORIES ?? 10_000);

console.log(`engram bench: node ${process.version}, ${calls} calls per figure`);
await benchEmbedded({ memories, calls, concurrency });
