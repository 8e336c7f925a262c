import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { toBinary, create } from "@bufbuild/protobuf";
import { loadConfig } from "../src/config.js";
import { rankMemories } from "../src/domain/ranking.js";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService, RecallResponseSchema } from "../src/gen/engram/v1/memory_service_pb.js";
import { OnnxEmbedder } from "../src/models/onnx-embedder.js";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readRecallQuery } from "../src/domain/recall-query.js";
import { openEmbeddedStores } from "../src/storage/embedded/embedded-stores.js";
import { startEngramProcess, type EngramProcess } from "./engram-process.js";
import { benchCorpus, topics, type BenchCorpus } from "./corpus.js";
import { seededDatabase } from "./seed-cache.js";

type Stages = Awaited<ReturnType<EngramProcess["stageTimings"]>>;

/**
 * Recall and AssembleContext speed on the embedded default with the ONNX
 * model (issue #24): each target beside its floor measured in the same run,
 * and where a Recall's time goes, stage by stage (ENGRAM_STAGE_TIMINGS).
 * Every query is distinct and the server runs with its query-embedding
 * cache off, so no figure is a cache hit.
 */
export async function benchRecallSpeed(options: { calls: number; concurrency: number; memories: number }) {
  const { concurrency } = options;
  const corpus = benchCorpus();
  const small = 1_000;
  const large = options.memories;
  const ask = (i: number) => corpus.question(i, 0, small);

  // Floors first, in this process, while no server runs: the model alone.
  const onnx = loadConfig({ ...process.env, ENGRAM_MODEL_PROVIDER: "local-onnx" }).models.onnx!;
  const model = await OnnxEmbedder.open(onnx);
  for (let i = 0; i < 20; i++) await model.embed([ask(900_000 + i)]);
  const single = await sequential(100, (i) => model.embed([ask(800_000 + i)]));
  const modelRate = await embeddingRate(model, 160, 700_000, ask);
  // What 16 calls in flight can at best hand the model: inferences of 16 queries, one after another.
  const wave = await embeddingRate(model, concurrency, 650_000, ask, 10);
  const queryVectors = await Promise.all(Array.from({ length: 100 }, (_, i) => model.embed([ask(600_000 + i)])));
  await model.close();
  // The same with both cores on the model (ENGRAM_ONNX_THREADS=2), nothing else running: the machine's ceiling.
  const twoThreads = await OnnxEmbedder.open({ ...onnx, threads: 2 });
  await embeddingRate(twoThreads, concurrency, 640_000, ask, 2);
  const waveTwoThreads = await embeddingRate(twoThreads, concurrency, 630_000, ask, 10);
  await twoThreads.close();

  // Both builds start from one seeded database (bench/seed-cache.ts): seeded once, then copied.
  const seeded = await seededDatabase(
    corpus.name === "topics" ? `recall-speed-${small}-${large}` : `recall-speed-${corpus.name}-${small}-${large}`,
    join(onnx.modelDir, "model.onnx"),
    async (e) => {
      const client = createClient(MemoryService, createGrpcTransport({ baseUrl: e.baseUrl }));
      await seed(client, corpus, smallUser, small, 0);
      await seed(client, corpus, largeUser, large, 100_000);
    },
  );
  console.log(
    seeded.seededSeconds === undefined
      ? `seeded memories: a copy of ${seeded.path}`
      : `seeded ${small + large} memories through ImportMemories in ${seeded.seededSeconds.toFixed(0)} s (kept in ${seeded.path})`,
  );
  // The store's own floor: its candidate search in this process, on the main connection, nothing else running.
  const storeFloor = await inProcessSearch(seeded.path, (i) => ({
    query: ask(600_000 + i),
    vector: queryVectors[i]![0]!,
  }));
  // The part that must follow the query's embedding: the vector scan and the row load (no terms: no match).
  const scanFloor = await inProcessSearch(
    seeded.path,
    (i) => ({ query: ask(600_000 + i), vector: queryVectors[i]![0]! }),
    false,
  );
  const measured = { ...options, small, large, seed: seeded.path, corpus };
  const current = await measureBuild("dist/main.js", true, measured);
  const baselineMain = process.env.BENCH_BASELINE_MAIN;
  // BENCH_BASELINE_STAGES=true: the baseline prints its stage timings too (only a build that has them: USR2 ends one that does not).
  const baselineStages = process.env.BENCH_BASELINE_STAGES === "true";
  const baseline = baselineMain ? await measureBuild(baselineMain, baselineStages, measured) : undefined;

  console.log(
    `\nRecall speed, embedded default with the ONNX model (Engram in its own process, loopback gRPC; ` +
      `${small} + ${large} memories imported, corpus "${corpus.name}" (BENCH_CORPUS); distinct queries, query cache off; ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")} at the end on ${availableParallelism()} cores)`,
  );
  console.log(
    `| figure | ${baseline ? "before (" + baselineMain + ") | " : ""}now | floor in this run | now vs floor | target |`,
  );
  console.log(`|---|${baseline ? "---:|" : ""}---:|---:|---:|---|`);
  const row = (
    name: string,
    pick: (f: BuildFigures) => number,
    digits: number,
    floor: number,
    floorText: string,
    target: string,
  ) =>
    console.log(
      `| ${name} | ${baseline ? pick(baseline).toFixed(digits) + " | " : ""}${pick(current).toFixed(digits)} | ${floorText} | ${floorText ? `${(pick(current) / floor).toFixed(2)}×` : ""} | ${target} |`,
    );
  const met = (ok: boolean) => (ok ? "met" : "not met");
  row(
    `Recall top 10 of ${small}, ${concurrency} in flight, req/s`,
    (f) => f.recallRate,
    0,
    modelRate,
    `model alone ${modelRate.toFixed(0)} emb/s (batches of up to 32), ${wave.toFixed(0)} in batches of ${concurrency}; Ping ${current.pingRate.toFixed(0)}/s`,
    `≥ 400: ${met(current.recallRate >= 400)}${current.recallRate < 400 && wave < 400 ? ` (the model's ${wave.toFixed(0)}/s bounds it)` : ""}`,
  );
  row(
    `AssembleContext of ${small}, ${concurrency} in flight, req/s`,
    (f) => f.assembleRate,
    0,
    modelRate,
    `model alone ${modelRate.toFixed(0)} emb/s`,
    `≥ 400: ${met(current.assembleRate >= 400)}`,
  );
  row(
    `Model alone, batches of ${concurrency} on both cores (ENGRAM_ONNX_THREADS=2), emb/s`,
    () => waveTwoThreads,
    0,
    wave,
    `1 thread (the default): ${wave.toFixed(0)} emb/s`,
    `the most ${concurrency} in flight could reach on this machine`,
  );
  // The full-text match overlaps the embedding (it starts first); the vector scan and the row load need the
  // query's vector, so they follow it: the floor is the longer of the two, then the scan and rows, then a Ping.
  const floorOf = (size: "small" | "large") =>
    Math.max(single.p50, storeFloor[size] - scanFloor[size]) + scanFloor[size] + current.pingP50;
  const floorText = (size: "small" | "large") =>
    `max(embedding ${single.p50.toFixed(2)}, match ${(storeFloor[size] - scanFloor[size]).toFixed(2)}) + ` +
    `vector scan and rows ${scanFloor[size].toFixed(2)} + Ping ${current.pingP50.toFixed(2)} ms`;
  row(
    `Recall top 10 of ${small}, one at a time, p50 ms`,
    (f) => f.recallP50,
    2,
    floorOf("small"),
    floorText("small"),
    "",
  );
  row(
    `Recall top 10 of ${large}, one at a time, p50 ms`,
    (f) => f.largeP50,
    2,
    floorOf("large"),
    floorText("large"),
    `≤ 10: ${met(current.largeP50 <= 10)}${current.largeP50 > 10 && floorOf("large") > 10 ? " (the floor is above it: the exact scan follows the model)" : ""}`,
  );
  row(
    `Another tenant's worst Ping during 20 Recalls of 8 KiB over ${large} memories, ms`,
    (f) => f.stall.worst,
    0,
    current.stall.idleP50,
    `idle Ping p50 ${current.stall.idleP50.toFixed(2)} ms`,
    `≤ 250 (#21): ${met(current.stall.worst <= 250)}`,
  );
  row("Pings answered during that burst", (f) => f.stall.pings, 0, 1, "", "");
  // Load-proof: CPU per call is what the call costs the machine, however busy it is; 2 cores / it is the ceiling.
  row(`Server CPU per Recall of ${small}, one at a time, ms`, (f) => f.cpu.recallSeq, 2, 1, "", "");
  row(
    `Server CPU per Recall of ${small}, ${concurrency} in flight, ms (2 cores: at most ${(2000 / current.cpu.recallConc).toFixed(0)} req/s)`,
    (f) => f.cpu.recallConc,
    2,
    1,
    "",
    "",
  );
  row(`Server CPU per Recall of ${large}, one at a time, ms`, (f) => f.cpu.largeSeq, 2, 1, "", "");
  row("Server RSS idle (model loaded), MiB", (f) => f.idleRss, 0, 1, "", "");
  row(`Server RSS after the run (${small + large} memories cached), MiB`, (f) => f.busyRss, 0, 1, "", "");

  const rankingMs = measureRanking();
  const serialiseMs = measureSerialisation();
  printStages("", current, { small, large, concurrency, rankingMs, serialiseMs });
  if (baseline && baselineStages)
    printStages(` of the baseline (${baselineMain})`, baseline, { small, large, concurrency, rankingMs, serialiseMs });
}

function printStages(
  of: string,
  figures: BuildFigures,
  sizes: { small: number; large: number; concurrency: number; rankingMs: number; serialiseMs: number },
): void {
  const { small, large, concurrency, rankingMs, serialiseMs } = sizes;
  console.log(`\nWhere a Recall's time goes on the server${of} (ms, mean / p50 per call; ENGRAM_STAGE_TIMINGS)`);
  console.log(`| stage | ${small}, one at a time | ${small}, ${concurrency} in flight | ${large}, one at a time |`);
  console.log("|---|---:|---:|---:|");
  const stages = [
    "embedding",
    "embedding inference",
    "embedding batch size",
    "store search",
    "vector search",
    "lexical search",
    "fusion",
    "row load",
  ];
  const cell = (s: Stages, stage: string) => {
    const f = s[stage];
    return f ? `${f.mean.toFixed(2)} / ${f.p50.toFixed(2)}` : "–";
  };
  for (const stage of stages) {
    console.log(
      `| ${stage} | ${cell(figures.stagesSeq, stage)} | ${cell(figures.stagesConc, stage)} | ${cell(figures.stagesLarge, stage)} |`,
    );
  }
  console.log(`| ranking (in-process, 40 candidates) | ${rankingMs.toFixed(3)} | | |`);
  console.log(`| reply serialisation (in-process, 10 memories) | ${serialiseMs.toFixed(3)} | | |`);
  console.log(
    `| client-observed call | ${figures.recallP50.toFixed(2)} (p50) | ${((1000 * concurrency) / figures.recallRate).toFixed(2)} (wall time per call) | ${figures.largeP50.toFixed(2)} (p50) |`,
  );
}

const smallUser = { namespace: "bench", userId: "thousand" };
const largeUser = { namespace: "bench", userId: "large" };

interface BuildFigures {
  readonly small: number;
  readonly large: number;
  readonly pingP50: number;
  readonly pingRate: number;
  readonly recallRate: number;
  readonly assembleRate: number;
  readonly recallP50: number;
  readonly largeP50: number;
  readonly idleRss: number;
  readonly busyRss: number;
  readonly stagesSeq: Stages;
  readonly stagesConc: Stages;
  readonly stagesLarge: Stages;
  readonly stall: { idleP50: number; worst: number; pings: number };
  /** Server CPU ms per call (all threads): small one at a time, small in flight, large one at a time. */
  readonly cpu: { recallSeq: number; recallConc: number; largeSeq: number };
}

/** One build's figures: `main` is its entry point; `stages` reads its stage timings (builds that have them). */
async function measureBuild(
  main: string,
  stages: boolean,
  options: { calls: number; concurrency: number; small: number; large: number; seed: string; corpus: BenchCorpus },
): Promise<BuildFigures> {
  const { calls, concurrency, small, large, corpus } = options;
  const engram = await startEngramProcess(
    stages
      ? { ENGRAM_STAGE_TIMINGS: "true", ENGRAM_QUERY_EMBEDDING_CACHE: "0" }
      : { ENGRAM_QUERY_EMBEDDING_CACHE: "0" },
    main,
    { seed: options.seed },
  );
  const timings = async (): Promise<Stages> => (stages ? engram.stageTimings() : {});
  try {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idleRss = engram.rssMiB();
    const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
    await client.setWorking({ scope: smallUser, taskId: "task", entries: { plan: "compare three flights" } });
    await client.appendMessages({
      scope: smallUser,
      sessionId: "history",
      messages: [{ role: 1, content: corpus.note(1) }],
    });

    let query = 2_000_000;
    const ask = (scope: typeof smallUser) =>
      scope === smallUser ? corpus.question(query++, 0, small) : corpus.question(query++, 100_000, large);
    const recall = (scope = smallUser) => client.recall({ scope, query: ask(scope), topK: 10 });
    const assemble = async () => {
      for await (const _ of client.assembleContext({
        scope: smallUser,
        sessionId: "history",
        taskId: "task",
        query: ask(smallUser),
        tokenBudget: 2000,
      })) {
        // drain
      }
    };
    for (let i = 0; i < 50; i++) await recall();
    await timings();

    const ping = await sequential(calls, () => client.ping({}));
    const pingRate = await inFlight(calls, concurrency, () => client.ping({}));
    const cpuPerCall = async <T>(operation: () => Promise<T>) => {
      const before = engram.cpuMs();
      const result = await operation();
      return { result, cpu: (engram.cpuMs() - before) / calls };
    };
    const { result: recallSeq, cpu: cpuSeq } = await cpuPerCall(() => sequential(calls, () => recall()));
    const stagesSeq = await timings();
    const { result: recallRate, cpu: cpuConc } = await cpuPerCall(() => inFlight(calls, concurrency, () => recall()));
    const stagesConc = await timings();
    const assembleRate = await inFlight(calls, concurrency, assemble);
    await timings();
    for (let i = 0; i < 20; i++) await recall(largeUser);
    await timings();
    const { result: largeSeq, cpu: cpuLarge } = await cpuPerCall(() => sequential(calls, () => recall(largeUser)));
    const stagesLarge = await timings();
    const stall = await burstStall(client, largeUser);
    return {
      small,
      large,
      pingP50: ping.p50,
      pingRate,
      recallRate,
      assembleRate,
      recallP50: recallSeq.p50,
      largeP50: largeSeq.p50,
      idleRss,
      busyRss: engram.rssMiB(),
      stagesSeq,
      stagesConc,
      stagesLarge,
      stall,
      cpu: { recallSeq: cpuSeq, recallConc: cpuConc, largeSeq: cpuLarge },
    };
  } finally {
    await engram.stop();
  }
}

/**
 * Issue #21, item 7: twenty concurrent Recalls with distinct 8 KiB queries
 * (the limit) while another tenant pings one call after another; the
 * longest Ping, beside an idle Ping measured just before.
 */
async function burstStall(
  client: Client<typeof MemoryService>,
  scope: { namespace: string; userId: string },
): Promise<{ idleP50: number; worst: number; pings: number }> {
  const bystander = client;
  const idle = await sequential(100, () => bystander.ping({}));
  const words = ["flights", "Lisbon", "aisle", "vegetarian", "jazz", "desk", "morning", "roast", "fiction", "train"];
  const query = (n: number) => {
    const parts: string[] = [];
    for (let k = 0; parts.join(" ").length < 8 * 1024 - 40; k++) {
      parts.push(k % 3 === 0 ? words[k % words.length]! : `term${n}x${k}`);
    }
    return parts.join(" ");
  };
  let pending = 20;
  const burst = Array.from({ length: pending }, (_, i) =>
    client.recall({ scope, query: query(i), topK: 10 }).finally(() => pending--),
  );
  let worst = 0;
  let pings = 0;
  while (pending > 0) {
    const started = performance.now();
    await bystander.ping({});
    worst = Math.max(worst, performance.now() - started);
    pings++;
  }
  await Promise.all(burst);
  return { idleP50: idle.p50, worst, pings };
}

/** Imported a thousand at a time: the write path's per-call work is not what this bench measures. */
async function seed(
  client: Client<typeof MemoryService>,
  corpus: BenchCorpus,
  scope: { namespace: string; userId: string },
  n: number,
  from: number,
): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    await client.importMemories({
      scope,
      memories: Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
        type: MemoryType.SEMANTIC,
        content: corpus.note(from + i + j),
        importance: ((i + j) % 10) / 10,
      })),
    });
  }
}

/**
 * The store's candidate search alone (full-text match, vector scan, row
 * load; what a Recall of top 10 asks), in this process on a copy of the
 * seeded database with the match on the main connection: p50 ms per user.
 * Without `match`, no terms: the vector scan and the row load alone.
 */
async function inProcessSearch(
  seeded: string,
  query: (i: number) => { query: string; vector: Float32Array },
  match = true,
): Promise<{ small: number; large: number }> {
  const dir = mkdtempSync(join(tmpdir(), "engram-bench-floor-"));
  copyFileSync(seeded, join(dir, "engram.db"));
  const stores = openEmbeddedStores({
    path: join(dir, "engram.db"),
    dimensions: 384,
    anyVectors: true,
    readThread: false,
  });
  try {
    const p50 = async (scope: { namespace: string; userId: string }) => {
      const search = (i: number) => {
        const { query: text, vector } = query(i);
        return stores.longTerm.candidates(scope, {
          embedding: vector,
          terms: match ? readRecallQuery(text).terms : [],
          types: [],
          includeSuperseded: false,
          limit: 50,
        });
      };
      for (let i = 0; i < 10; i++) await search(i);
      return (await sequential(100, search)).p50;
    };
    return { small: await p50(smallUser), large: await p50(largeUser) };
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The model's own throughput: `rounds` rounds of `batch` concurrent
 * single-text embeds (coalesced into one inference each, up to the batch
 * size), one round after another; texts per second.
 */
async function embeddingRate(
  model: OnnxEmbedder,
  batch: number,
  from: number,
  text: (i: number) => string,
  rounds = 1,
): Promise<number> {
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    await Promise.all(Array.from({ length: batch }, (_, i) => model.embed([text(from + r * batch + i)])));
  }
  return (batch * rounds) / ((performance.now() - started) / 1000);
}

async function sequential(calls: number, operation: (i: number) => Promise<unknown>): Promise<{ p50: number }> {
  const latencies: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await operation(i);
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  return { p50: latencies[Math.floor(latencies.length / 2)]! };
}

async function inFlight(calls: number, concurrency: number, operation: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < calls) await operation();
    }),
  );
  return calls / ((performance.now() - started) / 1000);
}

/** Ranking 40 candidates, as a Recall of 10 does (pure, so measured here). */
function measureRanking(): number {
  const now = new Date();
  const candidates = Array.from({ length: 40 }, (_, i) => ({
    relevance: 1 - i / 40,
    memory: {
      id: `m${i}`,
      scope: { namespace: "bench", userId: "u" },
      type: "semantic" as const,
      content: topics(i),
      importance: 0.5,
      metadata: {},
      subject: "",
      pinned: false,
      occurredAt: now,
      createdAt: now,
      updatedAt: now,
      lastAccessedAt: undefined,
      accessCount: i,
      supersededBy: undefined,
      validUntil: undefined,
      embedding: new Float32Array(0),
      source: { kind: "remember" as const, sessionId: "", messageIds: [], caller: "" },
      history: [],
    },
  }));
  const policy = loadConfig({}).ranking;
  const runs = 2000;
  const started = performance.now();
  for (let i = 0; i < runs; i++) rankMemories(candidates, now, policy, { topK: 10, minScore: 0 });
  return (performance.now() - started) / runs;
}

/** Serialising a Recall reply of 10 memories (what the framework does after the handler). */
function measureSerialisation(): number {
  const reply = create(RecallResponseSchema, {
    memories: Array.from({ length: 10 }, (_, i) => ({
      score: 0.5,
      relevance: 0.5,
      memory: { id: `m${i}`, content: topics(i), scope: { namespace: "bench", userId: "u" } },
    })),
  });
  const runs = 5000;
  const started = performance.now();
  for (let i = 0; i < runs; i++) toBinary(RecallResponseSchema, reply);
  return (performance.now() - started) / runs;
}
