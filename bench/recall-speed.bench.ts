import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { toBinary, create } from "@bufbuild/protobuf";
import { loadConfig } from "../src/config.js";
import { rankMemories } from "../src/domain/ranking.js";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService, RecallResponseSchema } from "../src/gen/engram/v1/memory_service_pb.js";
import { OnnxEmbedder } from "../src/models/onnx-embedder.js";
import { startEngramProcess, type EngramProcess } from "./engram-process.js";
import { topics } from "./corpus.js";

type Stages = Awaited<ReturnType<EngramProcess["stageTimings"]>>;

/**
 * Recall and AssembleContext speed on the embedded default with the ONNX
 * model (issue #24): each target beside its floor measured in the same run,
 * and where a Recall's time goes, stage by stage (ENGRAM_STAGE_TIMINGS).
 * Every query is distinct and the server runs with its query-embedding
 * cache off, so no figure is a cache hit.
 */
export async function benchRecallSpeed(options: { calls: number; concurrency: number; memories: number }) {
  const { calls, concurrency } = options;
  const small = 1_000;
  const large = options.memories;

  // Floors first, in this process, while no server runs: the model alone.
  const onnx = loadConfig({ ...process.env, ENGRAM_MODEL_PROVIDER: "local-onnx" }).models.onnx!;
  const model = await OnnxEmbedder.open(onnx);
  for (let i = 0; i < 20; i++) await model.embed([topics(900_000 + i)]);
  const single = await sequential(100, (i) => model.embed([topics(800_000 + i)]));
  const batchStarted = performance.now();
  await Promise.all(Array.from({ length: 160 }, (_, i) => model.embed([topics(700_000 + i)])));
  const modelRate = 160 / ((performance.now() - batchStarted) / 1000);
  await model.close();

  const engram = await startEngramProcess({ ENGRAM_STAGE_TIMINGS: "true", ENGRAM_QUERY_EMBEDDING_CACHE: "0" });
  try {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idleRss = engram.rssMiB();
    const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
    const smallUser = { namespace: "bench", userId: "thousand" };
    const largeUser = { namespace: "bench", userId: "large" };
    const seedStarted = performance.now();
    await seed(client, smallUser, small, 0);
    await seed(client, largeUser, large, 100_000);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    await client.setWorking({ scope: smallUser, taskId: "task", entries: { plan: "compare three flights" } });
    await client.appendMessages({
      scope: smallUser,
      sessionId: "history",
      messages: [{ role: 1, content: topics(1) }],
    });

    let query = 2_000_000;
    const recallSmall = (scope = smallUser) => client.recall({ scope, query: topics(query++), topK: 10 });
    const assembleSmall = async () => {
      for await (const _ of client.assembleContext({
        scope: smallUser,
        sessionId: "history",
        taskId: "task",
        query: topics(query++),
        tokenBudget: 2000,
      })) {
        // drain
      }
    };
    for (let i = 0; i < 50; i++) await recallSmall();
    await engram.stageTimings();

    const pingSeq = await sequential(calls, () => client.ping({}));
    const pingRate = await inFlight(calls, concurrency, () => client.ping({}));
    const recallSeq = await sequential(calls, () => recallSmall());
    const stagesSeq = await engram.stageTimings();
    const recallRate = await inFlight(calls, concurrency, () => recallSmall());
    const stagesConc = await engram.stageTimings();
    const assembleRate = await inFlight(calls, concurrency, assembleSmall);
    await engram.stageTimings();
    for (let i = 0; i < 20; i++) await recallSmall(largeUser);
    await engram.stageTimings();
    const largeSeq = await sequential(calls, () => recallSmall(largeUser));
    const stagesLarge = await engram.stageTimings();
    const busyRss = engram.rssMiB();

    const rankingMs = measureRanking();
    const serialiseMs = measureSerialisation();

    console.log(
      `\nRecall speed, embedded default with the ONNX model (Engram in its own process, loopback gRPC; ` +
        `${small} + ${large} memories seeded in ${seedSeconds.toFixed(0)} s; distinct queries, query cache off)`,
    );
    console.log("| figure | measured | floor in this run | ratio | target |");
    console.log("|---|---:|---:|---:|---|");
    const row = (name: string, value: string, floor: string, ratio: string, target: string) =>
      console.log(`| ${name} | ${value} | ${floor} | ${ratio} | ${target} |`);
    row(
      `Recall top 10 of ${small}, ${concurrency} in flight, req/s`,
      recallRate.toFixed(0),
      `model alone ${modelRate.toFixed(0)} emb/s; Ping ${pingRate.toFixed(0)}`,
      `${(recallRate / modelRate).toFixed(2)}× model`,
      `≥ 400 ${recallRate >= 400 ? "met" : "not met"}`,
    );
    row(
      `AssembleContext of ${small}, ${concurrency} in flight, req/s`,
      assembleRate.toFixed(0),
      `model alone ${modelRate.toFixed(0)} emb/s`,
      `${(assembleRate / modelRate).toFixed(2)}× model`,
      `≥ 400 ${assembleRate >= 400 ? "met" : "not met"}`,
    );
    row(
      `Recall top 10 of ${small}, one at a time, p50 ms`,
      recallSeq.p50.toFixed(2),
      `embedding ${single.p50.toFixed(2)} + Ping ${pingSeq.p50.toFixed(2)}`,
      `${(recallSeq.p50 / (single.p50 + pingSeq.p50)).toFixed(2)}×`,
      "",
    );
    row(
      `Recall top 10 of ${large}, one at a time, p50 ms`,
      largeSeq.p50.toFixed(2),
      `embedding ${single.p50.toFixed(2)} + Ping ${pingSeq.p50.toFixed(2)}`,
      `${(largeSeq.p50 / (single.p50 + pingSeq.p50)).toFixed(2)}×`,
      `≤ 10 ${largeSeq.p50 <= 10 ? "met" : "not met"}`,
    );
    row("Server RSS idle (model loaded), MiB", idleRss.toFixed(0), "", "", "");
    row(`Server RSS after the run (${small + large} memories cached), MiB`, busyRss.toFixed(0), "", "", "");

    console.log("\nWhere a Recall's time goes on the server (ms; stage timings, mean and p50 per call)");
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
        `| ${stage} | ${cell(stagesSeq, stage)} | ${cell(stagesConc, stage)} | ${cell(stagesLarge, stage)} |`,
      );
    }
    console.log(`| ranking (in-process, 40 candidates) | ${rankingMs.toFixed(3)} | | |`);
    console.log(`| reply serialisation (in-process, 10 memories) | ${serialiseMs.toFixed(3)} | | |`);
    console.log(
      `| client-observed call (p50) | ${recallSeq.p50.toFixed(2)} | ${((1000 * concurrency) / recallRate).toFixed(2)} (per call at ${concurrency} in flight) | ${largeSeq.p50.toFixed(2)} |`,
    );
  } finally {
    await engram.stop();
  }
}

async function seed(
  client: Client<typeof MemoryService>,
  scope: { namespace: string; userId: string },
  n: number,
  from: number,
) {
  for (let i = 0; i < n; i += 64) {
    await Promise.all(
      Array.from({ length: Math.min(64, n - i) }, (_, j) =>
        client.remember({
          scope,
          type: MemoryType.SEMANTIC,
          content: topics(from + i + j),
          importance: ((i + j) % 10) / 10,
        }),
      ),
    );
  }
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
