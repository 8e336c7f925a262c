import { loadConfig } from "../../src/config.js";
import { LocalEmbedder } from "../../src/models/local-embedder.js";
import { OnnxEmbedder } from "../../src/models/onnx-embedder.js";
import { startTestServer } from "../../test/support/server-harness.js";
import { startWeaviate, type WeaviateServer } from "../../test/support/weaviate-server.js";
import { bm25, dense, type Retriever } from "./baselines.js";
import { defaultDatasetOptions, generateDataset, type Dataset } from "./dataset.js";
import { loadConversation, type IntakePath, type LoadedConversation } from "./engram-retriever.js";

/**
 * `npm run bench:recall`: evidence-turn recall@k on the generated dataset,
 * for Engram's configurations through its public gRPC API (a real server,
 * embedded and on a real Weaviate) beside plain BM25 and plain dense
 * retrieval over the same turns, computed in the same run.
 *
 * Each Engram configuration runs with the local hashed embedder and with
 * the local ONNX model (all-MiniLM-L6-v2; scripts/fetch-embedding-model.sh
 * installs it), and the dense baseline with each of the two.
 *
 * RECALL_BENCH_ONLY=embedded,weaviate,baselines picks groups;
 * RECALL_BENCH_EMBEDDERS=hashed,onnx picks embedders;
 * RECALL_BENCH_CONVERSATIONS sizes the dataset; RECALL_BENCH_HYBRID_ALPHA
 * sets ENGRAM_HYBRID_ALPHA for the hybrid configurations (to tune it).
 */
const ks = [1, 5, 10, 20] as const;
const dimensions = 256;

interface Row {
  readonly name: string;
  readonly stored: number;
  readonly recall: Record<(typeof ks)[number], number>;
  readonly seconds: number;
}

async function evaluate(
  dataset: Dataset,
  name: string,
  retrievers: (conversation: number) => Retriever,
  stored: number,
  started: number,
): Promise<Row> {
  const hits = Object.fromEntries(ks.map((k) => [k, 0])) as Record<(typeof ks)[number], number>;
  for (const question of dataset.questions) {
    const ranked = await retrievers(question.conversation).rank(question.text, Math.max(...ks));
    for (const k of ks) {
      const top = new Set(ranked.slice(0, k));
      hits[k] += question.evidence.filter((e) => top.has(e)).length / question.evidence.length;
    }
  }
  const recall = Object.fromEntries(ks.map((k) => [k, hits[k] / dataset.questions.length])) as Row["recall"];
  const row = { name, stored, recall, seconds: (performance.now() - started) / 1000 };
  print(row);
  return row;
}

function print(row: Row): void {
  console.log(
    `| ${row.name} | ${row.stored} | ${ks.map((k) => row.recall[k].toFixed(3)).join(" | ")} | ${row.seconds.toFixed(0)} |`,
  );
}

async function engram(
  dataset: Dataset,
  name: string,
  env: Record<string, string>,
  path: IntakePath,
  namespace: string,
): Promise<Row> {
  const started = performance.now();
  const server = await startTestServer({ ENGRAM_EMBEDDING_DIMENSIONS: String(dimensions), ...env });
  try {
    const loaded: LoadedConversation[] = [];
    // Conversations are different users: load four at a time, each in order.
    for (let i = 0; i < dataset.conversations.length; i += 4) {
      loaded.push(
        ...(await Promise.all(
          dataset.conversations.slice(i, i + 4).map((c) => loadConversation(server.baseUrl, namespace, c, path)),
        )),
      );
    }
    const stored = loaded.reduce((sum, l) => sum + l.memories, 0);
    return await evaluate(dataset, name, (c) => loaded[c]!.retriever, stored, started);
  } finally {
    await server.destroy();
  }
}

const only = process.env.RECALL_BENCH_ONLY?.split(",");
const embedderNames = { hashed: "local hashed", onnx: "local ONNX MiniLM" } as const;
const embedders = (process.env.RECALL_BENCH_EMBEDDERS?.split(",") ?? ["hashed", "onnx"]).map((e) => {
  if (e !== "hashed" && e !== "onnx") throw new Error(`RECALL_BENCH_EMBEDDERS: unknown embedder "${e}"`);
  return e;
});
const onnxOptions = loadConfig({ ...process.env, ENGRAM_MODEL_PROVIDER: "local-onnx" }).models.onnx!;
const wanted = (group: string) => only === undefined || only.includes(group);
const dataset = generateDataset({
  ...defaultDatasetOptions,
  conversations: Number(process.env.RECALL_BENCH_CONVERSATIONS ?? defaultDatasetOptions.conversations),
});
const turns = dataset.conversations.reduce((sum, c) => sum + c.turns.length, 0);
console.log(
  `engram bench:recall: seed ${dataset.seed}, ${dataset.conversations.length} conversations, ${turns} turns, ` +
    `${dataset.questions.length} questions (${dataset.questions.filter((q) => q.corrected).length} about corrected facts); ` +
    `evidence-turn recall@k, node ${process.version}\n`,
);
console.log(`| retriever | memories | R@1 | R@5 | R@10 | R@20 | seconds |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|`);

if (wanted("baselines")) {
  let started = performance.now();
  const lexical = dataset.conversations.map((c) => bm25(c.turns));
  await evaluate(dataset, "plain BM25 over turns", (c) => lexical[c]!, turns, started);
  for (const embedder of embedders) {
    started = performance.now();
    const model = embedder === "hashed" ? new LocalEmbedder(dimensions) : await OnnxEmbedder.open(onnxOptions);
    const vectors: Retriever[] = [];
    for (const c of dataset.conversations) vectors.push(await dense(c.turns, model));
    await evaluate(dataset, `plain dense (${embedderNames[embedder]}) over turns`, (c) => vectors[c]!, turns, started);
  }
}

const hybrid: Record<string, string> = process.env.RECALL_BENCH_HYBRID_ALPHA
  ? { ENGRAM_HYBRID_ALPHA: process.env.RECALL_BENCH_HYBRID_ALPHA }
  : {};
const configurations: [string, Record<string, string>, IntakePath][] = embedders.flatMap((embedder) => {
  const model = { ENGRAM_MODEL_PROVIDER: embedder === "hashed" ? "local" : "local-onnx" };
  const name = embedderNames[embedder];
  return [
    [`${name}, store everything, hybrid`, { ...model, ...hybrid }, "everything"],
    [`${name}, store everything, vector only`, { ...model, ENGRAM_HYBRID_ALPHA: "1" }, "everything"],
    [`${name}, write path (gate, local rules), hybrid`, { ...model, ...hybrid }, "write-path"],
  ] as [string, Record<string, string>, IntakePath][];
});

if (wanted("embedded")) {
  for (const [name, env, path] of configurations) {
    await engram(dataset, `Engram embedded, ${name}`, env, path, "bench");
  }
}

if (wanted("weaviate")) {
  let weaviate: WeaviateServer | undefined;
  try {
    weaviate = await startWeaviate();
    for (const [i, [name, env, path]] of configurations.entries()) {
      await engram(
        dataset,
        `Engram Weaviate, ${name}`,
        {
          ENGRAM_WEAVIATE_URL: weaviate.url,
          ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
          ENGRAM_WEAVIATE_TIMEOUT_MS: "60000",
          // A collection records its embedder: one per configuration.
          ENGRAM_WEAVIATE_COLLECTION: `RecallBench${i}`,
          ...env,
        },
        path,
        `bench-${i}`,
      );
    }
  } finally {
    await weaviate?.stop();
  }
}
