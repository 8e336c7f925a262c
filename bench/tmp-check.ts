import { loadConfig } from "../src/config.js";
import { OnnxEmbedder } from "../src/models/onnx-embedder.js";
const opts = loadConfig({ ...process.env, ENGRAM_MODEL_PROVIDER: "local-onnx" }).models.onnx!;
const e = await OnnxEmbedder.open(opts);
console.log(e.dimensions, e.identity);
const texts = ["hello world", "a much longer sentence about flights to Lisbon in the spring with aisle seats", "x"];
const batched = await e.embed(texts);
const alone = await Promise.all(texts.map(async (t) => (await e.embed([t]))[0]!));
for (let k = 0; k < 3; k++) {
  let d = 0;
  for (let i = 0; i < 384; i++) d = Math.max(d, Math.abs(batched[k]![i]! - alone[k]![i]!));
  console.log("diff", d);
}
const t = performance.now();
for (let i = 0; i < 50; i++) await e.embed([`The user prefers Lisbon regarding flights (note ${i})`]);
console.log("seq ms", (performance.now() - t) / 50);
const t2 = performance.now();
await Promise.all(
  Array.from({ length: 160 }, (_, j) => e.embed([`The user prefers Lisbon regarding flights (note ${j})`])),
);
console.log("concurrent ms/item", (performance.now() - t2) / 160);
console.log(process.memoryUsage().rss / 2 ** 20);
await e.close();
