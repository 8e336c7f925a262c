// Run by bench/embedder-memory.bench.ts in a fresh `node --expose-gc` process, so
// every figure starts from a bare Node, printing one JSON line of memory figures
// (MiB) per step. Plain JavaScript importing the dist/ build on purpose: a
// TypeScript loader would add its own memory to each step.
//
//   node --expose-gc bench/embedder-memory-stages.mjs <modelDir> embedder
//     the default embedder as Engram opens it, then used
//   node --expose-gc bench/embedder-memory-stages.mjs <modelDir> components
//     its parts one by one: a worker thread, onnxruntime, the tokenizer, the session
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

const [modelDir, mode] = process.argv.slice(2);
const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};
const step = async (name, extra = {}) => {
  await settle();
  const m = process.memoryUsage();
  console.log(
    JSON.stringify({
      step: name,
      rss: mib(m.rss),
      heapUsed: mib(m.heapUsed),
      external: mib(m.external),
      ...extra,
    }),
  );
};

await step("bare node");
if (mode === "components") {
  const idle = new Worker("setInterval(() => {}, 1 << 30)", { eval: true });
  await new Promise((resolve) => idle.once("online", resolve));
  await step("an empty worker thread (a V8 isolate)");
  await import("onnxruntime-node");
  await step("onnxruntime-node loaded");
  const { WordPieceTokenizer } = await import("../dist/models/wordpiece-tokenizer.js");
  const tokenizer = new WordPieceTokenizer(JSON.parse(readFileSync(join(modelDir, "tokenizer.json"), "utf8")));
  await step("tokenizer.json parsed into the WordPiece vocabulary");
  const { OnnxInferenceThread } = await import("../dist/models/onnx-inference-thread.js");
  const session = await OnnxInferenceThread.start(join(modelDir, "model.onnx"), 1);
  await step("model session created on its thread");
  await session.close();
  await idle.terminate();
  void tokenizer;
} else {
  const { OnnxEmbedder } = await import("../dist/models/onnx-embedder.js");
  await step("Engram's model code imported");
  const embedder = await OnnxEmbedder.open({ modelDir, batchSize: 32, threads: 1 });
  await step("model opened (tokenizer, session on its thread)");
  const [first] = await embedder.embed(["What did the user say about flights to Lisbon?"]);
  await step("after the first inference", {
    vectorDigest: createHash("sha256").update(Buffer.from(first.buffer)).digest("hex").slice(0, 12),
  });
  let started = performance.now();
  for (let i = 0; i < 50; i++) await embedder.embed([`What did the user say about flights to Lisbon, note ${i}?`]);
  await step("after 50 short queries one at a time", { msPerQuery: (performance.now() - started) / 50 });
  const long = Array.from({ length: 300 }, (_, i) => `word${i} flights Lisbon`).join(" ");
  started = performance.now();
  for (let round = 0; round < 2; round++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => embedder.embed([`${round} ${i} ${long}`])));
  }
  await step("after 2 bursts of 20 texts of 256 tokens", { msPerBurst: (performance.now() - started) / 2 });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await step("idle 2 s later");
  await embedder.close();
}
