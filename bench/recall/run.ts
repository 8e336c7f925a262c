import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config.js";
import type { Embedder } from "../../src/domain/models.js";
import { LocalEmbedder } from "../../src/models/local-embedder.js";
import { OnnxEmbedder } from "../../src/models/onnx-embedder.js";
import { startTestServer } from "../../test/support/server-harness.js";
import { startWeaviate, type WeaviateServer } from "../../test/support/weaviate-server.js";
import { bm25, dense, fused, type Retriever, type ScoringRetriever } from "./baselines.js";
import { defaultDatasetOptions, generateDataset, type Dataset } from "./dataset.js";
import { loadConversation, type IntakePath, type LoadedConversation } from "./engram-retriever.js";
import { loadLocomo } from "./locomo.js";
import { dropReport, ks, percentile, score, type Scores } from "./scoring.js";

/**
 * `npm run bench:recall`: evidence-turn recall on the real dev set (LoCoMo's
 * format, `--dataset`, default ../shared/datasets/locomo-dev/locomo-dev.json
 * when present) and on the generated synthetic set, for Engram through its
 * public gRPC API (a real server, embedded and on a real Weaviate) beside
 * plain BM25, plain dense and their plain fusion over the same turns,
 * computed in the same run. See docs/recall-quality.md.
 *
 *   --quick                 two conversations of each set, embedded only
 *   --conversations N       the first N conversations of each set
 *   --sets locomo,synthetic which sets (default both)
 *   --only baselines,embedded,weaviate   which groups (default all)
 *   --paths everything,write-path        which Engram intake paths
 *   --embedders onnx,hashed which embedders (default onnx: the shipped default)
 *   --alpha A               ENGRAM_HYBRID_ALPHA for Engram (to measure it)
 */
const { values: args } = parseArgs({
  options: {
    dataset: { type: "string" },
    quick: { type: "boolean", default: false },
    conversations: { type: "string" },
    sets: { type: "string" },
    only: { type: "string" },
    paths: { type: "string" },
    embedders: { type: "string" },
    alpha: { type: "string" },
  },
});
const list = (value: string | undefined, fallback: string[]) => value?.split(",") ?? fallback;
const conversations = args.conversations ? Number(args.conversations) : args.quick ? 2 : undefined;
const groups = list(args.only, args.quick ? ["baselines", "embedded"] : ["baselines", "embedded", "weaviate"]);
const paths = list(args.paths, ["everything", "write-path"]) as IntakePath[];
const embedderKinds = list(args.embedders, ["onnx"]).map((e) => {
  if (e !== "hashed" && e !== "onnx") throw new Error(`--embedders: unknown embedder "${e}"`);
  return e;
});
const datasetPath = args.dataset ?? "../shared/datasets/locomo-dev/locomo-dev.json";
const sets = list(args.sets, ["locomo", "synthetic"]).filter((s) => {
  if (s !== "locomo" || existsSync(datasetPath)) return true;
  if (args.dataset) throw new Error(`--dataset: no file at ${datasetPath}`);
  console.log(`(no dev set at ${datasetPath}: the real set is skipped)\n`);
  return false;
});
const dimensions = 256;
const embedderNames = { hashed: "local hashed", onnx: "MiniLM" } as const;
const onnxOptions = loadConfig({ ...process.env, ENGRAM_MODEL_PROVIDER: "local-onnx" }).models.onnx!;

interface Row {
  readonly name: string;
  readonly stored: number;
  readonly scores: Scores;
  readonly latencies: readonly number[];
  readonly seconds: number;
}

function print(row: Row): void {
  const ms = (p: number) => (row.latencies.length > 0 ? percentile(row.latencies, p).toFixed(1) : "");
  console.log(
    `| ${row.name} | ${row.stored} | ${ks.map((k) => row.scores.any[k].toFixed(3)).join(" | ")} | ` +
      `${row.scores.all10.toFixed(3)} | ${ms(50)} | ${ms(95)} | ${row.seconds.toFixed(0)} |`,
  );
}

async function measure(
  dataset: Dataset,
  name: string,
  stored: number,
  started: number,
  retrievers: (c: number) => Retriever,
  latencies: readonly number[] = [],
): Promise<Row> {
  const scores = await score(dataset, retrievers);
  const row = { name, stored, scores, latencies, seconds: (performance.now() - started) / 1000 };
  print(row);
  return row;
}

async function engram(
  dataset: Dataset,
  name: string,
  env: Record<string, string>,
  path: IntakePath,
  namespace: string,
  drops: Map<string, LoadedConversation[]>,
): Promise<Row> {
  const started = performance.now();
  const server = await startTestServer({ ENGRAM_EMBEDDING_DIMENSIONS: String(dimensions), ...env });
  try {
    const loaded: LoadedConversation[] = [];
    // Conversations are different users: load two at a time, each in order.
    for (let i = 0; i < dataset.conversations.length; i += 2) {
      loaded.push(
        ...(await Promise.all(
          dataset.conversations.slice(i, i + 2).map((c) => loadConversation(server.baseUrl, namespace, c, path)),
        )),
      );
    }
    if (path === "write-path") drops.set(name, loaded);
    const stored = loaded.reduce((sum, l) => sum + l.memories, 0);
    const scores = await score(dataset, (c) => loaded[c]!.retriever);
    const latencies = loaded.flatMap((l) => l.latencies);
    const row = { name, stored, scores, latencies, seconds: (performance.now() - started) / 1000 };
    print(row);
    return row;
  } finally {
    await server.destroy();
  }
}

async function runSet(label: string, dataset: Dataset): Promise<void> {
  const turns = dataset.conversations.reduce((sum, c) => sum + c.turns.length, 0);
  console.log(
    `\n## ${label}: ${dataset.conversations.length} conversations, ${turns} turns, ${dataset.questions.length} questions ` +
      `(node ${process.version}, ${new Date().toISOString().slice(0, 10)})\n`,
  );
  console.log(`| retriever | memories | any@1 | any@5 | any@10 | any@20 | all@10 | p50 ms | p95 ms | seconds |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  const rows: Row[] = [];
  const drops = new Map<string, LoadedConversation[]>();
  if (groups.includes("baselines")) {
    let started = performance.now();
    const lexical = dataset.conversations.map((c) => bm25(c.turns));
    rows.push(await measure(dataset, "plain BM25", turns, started, (c) => lexical[c]!));
    for (const kind of embedderKinds) {
      started = performance.now();
      const model: Embedder = kind === "hashed" ? new LocalEmbedder(dimensions) : await OnnxEmbedder.open(onnxOptions);
      const vectors: ScoringRetriever[] = [];
      for (const c of dataset.conversations) vectors.push(await dense(c.turns, model));
      rows.push(await measure(dataset, `plain dense (${embedderNames[kind]})`, turns, started, (c) => vectors[c]!));
      started = performance.now();
      const both = dataset.conversations.map((c, i) => fused(c.turns, vectors[i]!, lexical[i]!, 0.5));
      rows.push(
        await measure(dataset, `plain fusion BM25 + ${embedderNames[kind]}, α 0.5`, turns, started, (c) => both[c]!),
      );
    }
  }
  const alpha: Record<string, string> = args.alpha ? { ENGRAM_HYBRID_ALPHA: args.alpha } : {};
  const configurations = embedderKinds.flatMap((kind) =>
    paths.map(
      (path) =>
        [
          `${embedderNames[kind]}, ${path === "everything" ? "store everything (Remember)" : "default write path"}`,
          { ENGRAM_MODEL_PROVIDER: kind === "hashed" ? "local" : "local-onnx", ...alpha },
          path,
        ] as const,
    ),
  );
  if (groups.includes("embedded")) {
    for (const [name, env, path] of configurations) {
      rows.push(await engram(dataset, `Engram embedded, ${name}`, env, path, "bench", drops));
    }
  }
  if (groups.includes("weaviate")) {
    let weaviate: WeaviateServer | undefined;
    try {
      weaviate = await startWeaviate();
      for (const [i, [name, env, path]] of configurations.entries()) {
        const collection = `RecallBench${label.replace(/\W/g, "")}${i}`;
        rows.push(
          await engram(
            dataset,
            `Engram Weaviate, ${name}`,
            {
              ENGRAM_WEAVIATE_URL: weaviate.url,
              ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
              ENGRAM_WEAVIATE_TIMEOUT_MS: "60000",
              // A collection records its embedder: one per configuration.
              ENGRAM_WEAVIATE_COLLECTION: collection,
              ...env,
            },
            path,
            `bench-${i}`,
            drops,
          ),
        );
      }
    } finally {
      await weaviate?.stop();
    }
  }
  const kinds = [...new Set(dataset.questions.map((q) => q.kind))].sort();
  console.log(`\n### ${label}: recall_any@10 by question kind\n`);
  const count = (kind: string) => dataset.questions.filter((q) => q.kind === kind).length;
  console.log(`| retriever | ${kinds.map((k) => `${k} (${count(k)})`).join(" | ")} |`);
  console.log(`|---|${kinds.map(() => "---:").join("|")}|`);
  for (const row of rows) {
    console.log(`| ${row.name} | ${kinds.map((k) => (row.scores.any10ByKind[k] ?? 0).toFixed(3)).join(" | ")} |`);
  }
  for (const [name, loaded] of drops) {
    console.log(`\n### ${label}: evidence turns the write gate dropped (${name})\n`);
    console.log(`| kind | evidence turns | dropped | reasons |`);
    console.log(`|---|---:|---:|---|`);
    for (const [kind, entry] of dropReport(dataset, (c) => loaded[c]!.dropped)) {
      const reasons = [...entry.reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`);
      console.log(`| ${kind} | ${entry.evidence} | ${entry.dropped} | ${reasons.join(", ")} |`);
    }
  }
}

console.log(`engram bench:recall: evidence-turn recall through the public API, baselines from the same run`);
for (const set of sets) {
  if (set === "locomo") {
    await runSet(`LoCoMo (${datasetPath})`, await loadLocomo(datasetPath, conversations));
  } else if (set === "synthetic") {
    const options = { ...defaultDatasetOptions, ...(conversations ? { conversations } : {}) };
    await runSet(`synthetic (seed ${options.seed})`, generateDataset(options));
  } else {
    throw new Error(`--sets: unknown set "${set}"`);
  }
}
