// Run by bench/embedder-memory.bench.ts in a fresh `node --expose-gc` process, so
// every figure starts from a bare Node: the default embedder (dist/ build) loaded
// step by step, printing one JSON line of memory figures (MiB) per step. Plain
// JavaScript on purpose: a TypeScript loader would add its own memory to each step.
import { readFileSync } from "node:fs";

const modelDir = process.argv[2];
const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};
const step = async (name, timing = {}) => {
  await settle();
  const m = process.memoryUsage();
  const status = readFileSync("/proc/self/status", "utf8");
  const threads = Number(/Threads:\s+(\d+)/.exec(status)?.[1]);
  console.log(
    JSON.stringify({
      step: name,
      rss: mib(m.rss),
      heapUsed: mib(m.heapUsed),
      heapTotal: mib(m.heapTotal),
      external: mib(m.external),
      arrayBuffers: mib(m.arrayBuffers),
      threads,
      ...timing,
    }),
  );
};

await step("bare node");
const { OnnxEmbedder } = await import("../dist/models/onnx-embedder.js");
await step("Engram's model code imported (no model)");
const embedder = await OnnxEmbedder.open({ modelDir, batchSize: 32, threads: 1 });
await step("model opened (tokenizer, session on its thread)");
await embedder.embed(["What did the user say about flights to Lisbon?"]);
await step("after the first inference");
let started = performance.now();
for (let i = 0; i < 100; i++) await embedder.embed([`What did the user say about flights to Lisbon, note ${i}?`]);
await step("after 100 short queries one at a time", { msPerQuery: (performance.now() - started) / 100 });
const long = Array.from({ length: 300 }, (_, i) => `word${i} flights Lisbon`).join(" ");
started = performance.now();
for (let round = 0; round < 3; round++) {
  await Promise.all(Array.from({ length: 20 }, (_, i) => embedder.embed([`${round} ${i} ${long}`])));
}
await step("after 3 bursts of 20 texts of 256 tokens", { msPerBurst: (performance.now() - started) / 3 });
await new Promise((resolve) => setTimeout(resolve, 2000));
await step("idle 2 s after the burst");
await embedder.close();
await step("model closed");
