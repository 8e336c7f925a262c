import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { loadConfig } from "../src/config.js";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { OnnxEmbedder, meanPool, onnxMaxTokens, paddedFeeds } from "../src/models/onnx-embedder.js";
import { OnnxInferenceThread } from "../src/models/onnx-inference-thread.js";
import { WordPieceTokenizer } from "../src/models/wordpiece-tokenizer.js";
import { benchCorpus } from "./corpus.js";
import { startEngramProcess } from "./engram-process.js";

type Ort = typeof import("onnxruntime-node");
type Session = Awaited<ReturnType<Ort["InferenceSession"]["create"]>>;
type SessionOptions = NonNullable<Parameters<Ort["InferenceSession"]["create"]>[1]>;

/**
 * The query embedding alone, in this process (issue #24: the largest part
 * of a Recall's floor; `BENCH_ONLY=query-embedding`, `BENCH_QUERIES`
 * questions of the bench's corpus, BENCH_CORPUS). Configurations alternate
 * in blocks, in rotating order, so the machine's load falls on all alike:
 *
 * 1. where `OnnxEmbedder.embed` spends a lone query's time: tokenizing, the
 *    int64 tensors, the model, pooling, the worker thread's round trip;
 * 2. onnxruntime's session options, the model alone on this thread, for a
 *    lone query and for batches of 16: intra-op threads 1 or 2, the pool's
 *    spinning, graph optimisation, single fusions, denormals; wall time, CPU
 *    per query (the whole process, which runs nothing else), CPU burnt in
 *    the idle second after a query, and each option's largest difference
 *    from the vectors of main's options;
 * 3. the whole path (OnnxEmbedder) per thread policy, lone and 16 in flight;
 * 4. the server's CPU while idle, per thread setting (dist/: `npm run bench`
 *    builds it).
 *
 * `BENCH_QUERY_EMBEDDING=embedders` runs the last two alone.
 */
export async function benchQueryEmbedding(options: { queries: number }): Promise<void> {
  const { queries } = options;
  const onnx = loadConfig({ ...process.env, ENGRAM_MODEL_PROVIDER: "local-onnx" }).models.onnx!;
  const modelPath = join(onnx.modelDir, "model.onnx");
  const tokenizer = new WordPieceTokenizer(
    JSON.parse(readFileSync(join(onnx.modelDir, "tokenizer.json"), "utf8")) as ConstructorParameters<
      typeof WordPieceTokenizer
    >[0],
  );
  const corpus = benchCorpus();
  const texts = Array.from({ length: queries }, (_, i) => corpus.question(500_000 + i, 0, 1_000));
  const encoded = texts.map((t) => tokenizer.encode(t, onnxMaxTokens).ids);
  const ort: Ort = await import("onnxruntime-node");
  console.log(
    `\nQuery embedding in process: ${queries} questions of corpus "${corpus.name}" ` +
      `(tokens per question: median ${median(encoded.map((e) => e.length))}, max ${Math.max(...encoded.map((e) => e.length))}); ` +
      `load average ${loadAverage()} at the start on ${availableParallelism()} cores`,
  );

  if (process.env.BENCH_QUERY_EMBEDDING !== "embedders") {
    await whereTheTimeGoes(ort, modelPath, tokenizer, texts, onnx);
    await sessionOptions(ort, modelPath, encoded);
  }
  await embedders(ort, modelPath, tokenizer, texts, onnx);
  await serverIdleCpu(texts);
  console.log(`(load average ${loadAverage()} at the end)`);
}

/** 1. A lone query through OnnxEmbedder beside its parts, measured one after another per query. */
async function whereTheTimeGoes(
  ort: Ort,
  modelPath: string,
  tokenizer: WordPieceTokenizer,
  texts: readonly string[],
  onnx: NonNullable<ReturnType<typeof loadConfig>["models"]["onnx"]>,
): Promise<void> {
  const embedder = await OnnxEmbedder.open({ ...onnx, threads: 1, loneThreads: 1 });
  const session = await ort.InferenceSession.create(modelPath, defaultOptions(1));
  const thread = await OnnxInferenceThread.start(modelPath, { threads: 1, loneThreads: 1 });
  const echo = echoWorker();
  const times: Record<string, number[]> = {
    "OnnxEmbedder.embed (the whole path)": [],
    tokenize: [],
    "int64 tensors": [],
    "model alone, this thread (session.run)": [],
    "model on its worker thread (OnnxInferenceThread.run: the hop and the run)": [],
    pooling: [],
    "worker round trip of the same bytes (echo)": [],
  };
  const differences: number[] = [];
  for (let i = -30; i < texts.length; i++) {
    const text = texts[(i + texts.length) % texts.length]!;
    const ids = tokenizer.encode(text, onnxMaxTokens).ids;
    const int64 = (fill: (c: number) => bigint) => ({
      data: BigInt64Array.from({ length: ids.length }, (_, c) => fill(c)),
      dims: [1, ids.length],
    });
    const threadFeeds = () => ({
      input_ids: int64((c) => BigInt(ids[c]!)),
      attention_mask: int64(() => 1n),
      token_type_ids: int64(() => 0n),
    });
    // The whole path and the thread alone back to back, in alternating order: their difference is the path's own.
    const measure = async (run: () => Promise<unknown>) => {
      const started = performance.now();
      await run();
      return performance.now() - started;
    };
    let whole: number;
    let onThread: number;
    if (i % 2 === 0) {
      whole = await measure(() => embedder.embed([text]));
      onThread = await measure(() => thread.run(threadFeeds()));
    } else {
      onThread = await measure(() => thread.run(threadFeeds()));
      whole = await measure(() => embedder.embed([text]));
    }
    let started = performance.now();
    tokenizer.encode(text, onnxMaxTokens);
    const tokenize = performance.now() - started;
    started = performance.now();
    const feeds = int64Feeds(ort, [ids]);
    const tensors = performance.now() - started;
    started = performance.now();
    const out = await session.run(feeds);
    const model = performance.now() - started;
    const hidden = out[session.outputNames[0]!]!;
    started = performance.now();
    meanPool(hidden.data as Float32Array, hidden.dims, [ids]);
    const pool = performance.now() - started;
    started = performance.now();
    await echo.roundTrip(ids.length * 16, ids.length * 384 * 4);
    const hop = performance.now() - started;
    if (i < 0) continue;
    times["OnnxEmbedder.embed (the whole path)"]!.push(whole);
    times["tokenize"]!.push(tokenize);
    times["int64 tensors"]!.push(tensors);
    times["model alone, this thread (session.run)"]!.push(model);
    times["pooling"]!.push(pool);
    times["model on its worker thread (OnnxInferenceThread.run: the hop and the run)"]!.push(onThread);
    times["worker round trip of the same bytes (echo)"]!.push(hop);
    differences.push(whole - onThread);
  }
  await embedder.close();
  await thread.close();
  await session.release();
  await echo.close();
  console.log(`\nA lone query's embedding, stage by stage (each measured per query in turn; load ${loadAverage()})`);
  console.log("| stage | p50 ms | mean ms |");
  console.log("|---|---:|---:|");
  for (const [name, list] of Object.entries(times)) {
    console.log(`| ${name} | ${median(list).toFixed(3)} | ${mean(list).toFixed(3)} |`);
  }
  console.log(
    `| the whole path minus the worker thread's run, same query back to back (median of the differences) | ${median(differences).toFixed(3)} | ${mean(differences).toFixed(3)} |`,
  );
}

/**
 * 3. The whole path (OnnxEmbedder on its worker thread) with each thread
 * policy: lone queries (blocks alternating between embedders) and 16
 * concurrent queries (coalesced into one inference; rounds alternating),
 * and the vectors each gives against those of main's session options.
 */
async function embedders(
  ort: Ort,
  modelPath: string,
  tokenizer: WordPieceTokenizer,
  texts: readonly string[],
  onnx: NonNullable<ReturnType<typeof loadConfig>["models"]["onnx"]>,
): Promise<void> {
  const variants = [
    { name: "1 thread (the default)", threads: 1, loneThreads: 1 },
    { name: "1 thread for batches, 2 for a lone query (two sessions)", threads: 1, loneThreads: 2 },
    { name: "2 threads for all, no spinning (one session)", threads: 2, loneThreads: 2 },
  ];
  const opened: OnnxEmbedder[] = [];
  for (const v of variants)
    opened.push(await OnnxEmbedder.open({ ...onnx, threads: v.threads, loneThreads: v.loneThreads }));
  // The reference: each text alone on a session with main's options (section 2's first row).
  const main = await ort.InferenceSession.create(modelPath, defaultOptions(1));
  const reference: Float32Array[] = [];
  for (const text of texts) {
    const ids = tokenizer.encode(text, onnxMaxTokens).ids;
    const hidden = (await main.run(int64Feeds(ort, [ids])))[main.outputNames[0]!]!;
    reference.push(meanPool(hidden.data as Float32Array, hidden.dims, [ids])[0]!);
  }
  await main.release();
  const differences = variants.map(() => ({ worst: 0, identical: true }));
  for (let v = 0; v < variants.length; v++) {
    for (let q = 0; q < texts.length; q++)
      compare(reference[q]!, (await opened[v]!.embed([texts[q]!]))[0]!, differences[v]!);
    // ...and in batches of 16 (the batch session)
    for (let q = 0; q + 16 <= texts.length; q += 16) {
      const vectors = await opened[v]!.embed(texts.slice(q, q + 16));
      vectors.forEach((vector, i) => compare(reference[q + i]!, vector, differences[v]!));
    }
  }
  const block = 20;
  const lone = variants.map(() => ({ wall: [] as number[], cpu: 0, count: 0 }));
  for (let from = 0; from < texts.length; from += block) {
    for (const v of rotated(variants.length, from / block)) {
      const rows = texts.slice(from, from + block);
      await opened[v]!.embed([rows[0]!]);
      const cpu = process.cpuUsage();
      for (const text of rows) {
        const started = performance.now();
        await opened[v]!.embed([text]);
        lone[v]!.wall.push(performance.now() - started);
      }
      const used = process.cpuUsage(cpu);
      lone[v]!.cpu += (used.user + used.system) / 1000;
      lone[v]!.count += rows.length;
    }
  }
  const inFlight = variants.map(() => ({ wall: 0, cpu: 0, count: 0 }));
  for (let round = 0; round < Math.max(4, Math.floor(texts.length / 16)); round++) {
    const rows = Array.from({ length: 16 }, (_, i) => texts[(round * 16 + i) % texts.length]!);
    for (const v of rotated(variants.length, round)) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await Promise.all(rows.map((text) => opened[v]!.embed([text])));
      inFlight[v]!.wall += performance.now() - started;
      const used = process.cpuUsage(cpu);
      inFlight[v]!.cpu += (used.user + used.system) / 1000;
      inFlight[v]!.count += rows.length;
    }
  }
  const idle: number[] = [];
  for (let v = 0; v < variants.length; v++) {
    await opened[v]!.embed([texts[0]!]);
    const cpu = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const used = process.cpuUsage(cpu);
    idle.push((used.user + used.system) / 1000);
  }
  for (const e of opened) await e.close();
  console.log(
    `
The whole path, OnnxEmbedder.embed on its worker thread, per thread policy (lone queries in alternating blocks of ${block}; ` +
      `16 concurrent queries, rounds alternating; load ${loadAverage()})`,
  );
  console.log(
    "| embedder | lone p50 ms | lone CPU ms/query | 16 in flight: emb/s | 16 in flight: CPU ms/query | idle CPU ms in the next 1 s | largest difference from main's vectors (alone and in batches of 16) |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---|");
  variants.forEach((v, i) => {
    const d = differences[i]!;
    console.log(
      `| ${v.name} | ${median(lone[i]!.wall).toFixed(3)} | ${(lone[i]!.cpu / lone[i]!.count).toFixed(3)} | ` +
        `${(inFlight[i]!.count / (inFlight[i]!.wall / 1000)).toFixed(0)} | ${(inFlight[i]!.cpu / inFlight[i]!.count).toFixed(3)} | ` +
        `${idle[i]!.toFixed(1)} | ${d.identical ? "bit-identical" : d.worst.toExponential(1)} |`,
    );
  });
}

/**
 * 4. The server's CPU while idle: started from dist/ with each thread
 * setting, asked 20 Recalls, then left alone for 10 s (its /proc CPU time,
 * all threads): pool threads that spin would show here.
 */
async function serverIdleCpu(texts: readonly string[]): Promise<void> {
  const settings: Record<string, string>[] = [
    {},
    { ENGRAM_ONNX_LONE_QUERY_THREADS: "2" },
    { ENGRAM_ONNX_THREADS: "2", ENGRAM_ONNX_LONE_QUERY_THREADS: "2" },
  ];
  const rows: string[] = [];
  for (const env of settings) {
    const engram = await startEngramProcess({ ENGRAM_QUERY_EMBEDDING_CACHE: "0", ...env });
    try {
      const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
      const scope = { namespace: "bench", userId: "idle" };
      await client.remember({ scope, type: MemoryType.SEMANTIC, content: texts[0]!, importance: 0.5 });
      for (let i = 0; i < 20; i++) await client.recall({ scope, query: texts[i + 1]!, topK: 10 });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const before = engram.cpuMs();
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      rows.push(
        `| ${
          Object.entries(env)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ") || "the defaults"
        } | ${(engram.cpuMs() - before).toFixed(0)} | ${engram.rssMiB().toFixed(0)} |`,
      );
    } finally {
      await engram.stop();
    }
  }
  console.log(`\nThe server idle for 10 s after 20 Recalls (dist/main.js; load ${loadAverage()})`);
  console.log("| setting | CPU ms in 10 s idle | RSS MiB |");
  console.log("|---|---:|---:|");
  for (const row of rows) console.log(row);
}

interface Variant {
  readonly name: string;
  readonly options: SessionOptions;
}

/** 2. Session options: lone queries and batches of 16, wall and CPU time, idle CPU, vectors. */
async function sessionOptions(ort: Ort, modelPath: string, encoded: readonly number[][]): Promise<void> {
  const spinningOff = { session: { intra_op: { allow_spinning: "0" } } };
  const variants: Variant[] = [
    { name: "1 thread, main's options", options: defaultOptions(1) },
    { name: "2 threads, spinning (ORT's default)", options: defaultOptions(2) },
    { name: "2 threads, no spinning", options: { ...defaultOptions(2), extra: spinningOff } },
    // The same graph as 'all' on this model (no layout-level node applies): its row shows the noise.
    { name: "1 thread, graph 'extended'", options: { ...defaultOptions(1), graphOptimizationLevel: "extended" } },
    { name: "1 thread, graph 'basic'", options: { ...defaultOptions(1), graphOptimizationLevel: "basic" } },
    {
      name: "1 thread, denormals as zero",
      options: { ...defaultOptions(1), extra: { session: { set_denormal_as_zero: "1" } } },
    },
    { name: "1 thread, memory pattern off", options: { ...defaultOptions(1), enableMemPattern: false } },
    ...["SkipLayerNormFusion", "MatMulScaleFusion"].map((fusion) => ({
      name: `1 thread, ${fusion} off`,
      options: { ...defaultOptions(1), extra: { optimization: { disable_specified_optimizers: fusion } } },
    })),
  ];
  const sessions: Session[] = [];
  for (const v of variants) sessions.push(await ort.InferenceSession.create(modelPath, v.options));
  const pooled = (s: Session, rows: readonly number[][]) =>
    s.run(int64Feeds(ort, rows)).then((out) => {
      const hidden = out[s.outputNames[0]!]!;
      return meanPool(hidden.data as Float32Array, hidden.dims, rows);
    });

  // Vectors: every query alone through each variant, against the default's.
  const reference = [] as Float32Array[];
  for (const row of encoded) reference.push((await pooled(sessions[0]!, [row]))[0]!);
  const differences = variants.map(() => ({ worst: 0, identical: true }));
  for (let v = 1; v < variants.length; v++) {
    for (let q = 0; q < encoded.length; q++) {
      const [vector] = await pooled(sessions[v]!, [encoded[q]!]);
      compare(reference[q]!, vector!, differences[v]!);
    }
  }
  // The same queries in batches of 16 (padded), on the default session: a batch's vectors against lone ones.
  const batchDifference = { worst: 0, identical: true };
  for (let q = 0; q + 16 <= encoded.length; q += 16) {
    const vectors = await pooled(sessions[0]!, encoded.slice(q, q + 16));
    vectors.forEach((v, i) => compare(reference[q + i]!, v, batchDifference));
  }

  // Lone queries: blocks of `block` queries per variant, alternating, so load falls on every variant alike.
  const block = 25;
  const lone = variants.map(() => ({ wall: [] as number[], cpu: 0, count: 0 }));
  for (let from = 0; from < encoded.length; from += block) {
    for (const v of rotated(variants.length, from / block)) {
      const rows = encoded.slice(from, from + block);
      await pooled(sessions[v]!, [rows[0]!]); // wakes the pool after the other variants ran
      const cpu = process.cpuUsage();
      for (const row of rows) {
        const started = performance.now();
        await pooled(sessions[v]!, [row]);
        lone[v]!.wall.push(performance.now() - started);
      }
      const used = process.cpuUsage(cpu);
      lone[v]!.cpu += (used.user + used.system) / 1000;
      lone[v]!.count += rows.length;
    }
  }
  // Batches of 16: rounds alternate between variants.
  const batched = variants.map(() => ({ wall: 0, cpu: 0, count: 0 }));
  for (let round = 0; round < Math.max(4, Math.floor(encoded.length / 16)); round++) {
    const rows = Array.from({ length: 16 }, (_, i) => encoded[(round * 16 + i) % encoded.length]!);
    for (const v of rotated(variants.length, round)) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await pooled(sessions[v]!, rows);
      batched[v]!.wall += performance.now() - started;
      const used = process.cpuUsage(cpu);
      batched[v]!.cpu += (used.user + used.system) / 1000;
      batched[v]!.count += rows.length;
    }
  }
  // Idle: CPU the process burns in the second after a lone query, per variant (nothing else runs).
  const idle: number[] = [];
  for (let v = 0; v < variants.length; v++) {
    await pooled(sessions[v]!, [encoded[0]!]);
    const cpu = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const used = process.cpuUsage(cpu);
    idle.push((used.user + used.system) / 1000);
  }
  for (const s of sessions) await s.release();

  console.log(
    `\nSession options, the model alone on this thread (onnxruntime ${ort.env.versions.common}; ` +
      `lone queries alternate in blocks of ${block}, batches of 16 round by round; load ${loadAverage()})`,
  );
  console.log(
    "| session | lone p50 ms | lone CPU ms/query | batch of 16: emb/s | batch of 16: CPU ms/query | idle CPU ms in the next 1 s | largest difference from the vectors of main's options |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---|");
  variants.forEach((v, i) => {
    const d = differences[i]!;
    console.log(
      `| ${v.name} | ${median(lone[i]!.wall).toFixed(3)} | ${(lone[i]!.cpu / lone[i]!.count).toFixed(3)} | ` +
        `${(batched[i]!.count / (batched[i]!.wall / 1000)).toFixed(0)} | ${(batched[i]!.cpu / batched[i]!.count).toFixed(3)} | ` +
        `${idle[i]!.toFixed(1)} | ${i === 0 ? "(reference)" : d.identical ? "bit-identical" : d.worst.toExponential(1)} |`,
    );
  });
  console.log(
    `Batches of 16 (padded) against the same queries alone, default session: ${batchDifference.identical ? "bit-identical" : batchDifference.worst.toExponential(1)}`,
  );
}

/** The worker's session options (src/models/onnx-inference-worker.ts) at `threads` intra-op threads. */
function defaultOptions(threads: number): SessionOptions {
  return { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", enableCpuMemArena: false };
}

/** The embedder's padded feeds (onnx-embedder.ts) as onnxruntime tensors. */
function int64Feeds(ort: Ort, rows: readonly number[][]) {
  return Object.fromEntries(
    Object.entries(paddedFeeds(rows, true)).map(([name, t]) => [name, new ort.Tensor("int64", t.data, [...t.dims])]),
  );
}

function compare(a: Float32Array, b: Float32Array, into: { worst: number; identical: boolean }): void {
  for (let d = 0; d < a.length; d++) {
    if (a[d] !== b[d]) into.identical = false;
    into.worst = Math.max(into.worst, Math.abs(a[d]! - b[d]!));
  }
}

/** A worker that sends back a buffer of the asked size for each buffer it gets (both transferred). */
function echoWorker() {
  const worker = new Worker(
    `const { parentPort } = require("node:worker_threads");
     parentPort.on("message", ({ send, reply }) => {
       const data = new Float32Array(reply / 4);
       parentPort.postMessage({ data, dims: [1, reply / 1536, 384] }, [data.buffer]);
     });`,
    { eval: true },
  );
  return {
    roundTrip(send: number, reply: number): Promise<void> {
      return new Promise((resolve) => {
        worker.once("message", () => resolve());
        const data = new BigInt64Array(send / 8);
        worker.postMessage({ send: data, reply }, [data.buffer]);
      });
    },
    close: () => worker.terminate().then(() => undefined),
  };
}

/** 0..n-1 starting at `by` (mod n): no variant always runs first, just after another's weights were read. */
function rotated(n: number, by: number): number[] {
  return Array.from({ length: n }, (_, i) => (i + by) % n);
}

function median(list: readonly number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function mean(list: readonly number[]): number {
  return list.reduce((a, b) => a + b, 0) / list.length;
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
}
