import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { startEngramProcess } from "./engram-process.js";
import { topics } from "./corpus.js";

const memories = Number(process.env.N ?? 1000);
const conc = Number(process.env.C ?? 16);
const env: Record<string, string> = process.env.PROF
  ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.PROF}` }
  : {};
const engram = await startEngramProcess(env);
const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
const scope = { namespace: "bench", userId: "heavy-user" };
for (let i = 0; i < memories; i += 64) {
  await Promise.all(
    Array.from({ length: Math.min(64, memories - i) }, (_, j) =>
      client.remember({ scope, type: MemoryType.SEMANTIC, content: topics(i + j), importance: 0.5 }),
    ),
  );
}
for (let i = 0; i < 50; i++) await client.recall({ scope, query: topics(i * 7 + 3), topK: 10 });
const t0 = performance.now();
let n = 0;
await Promise.all(
  Array.from({ length: conc }, async () => {
    while (n < 1000) await client.recall({ scope, query: topics(n++ * 7 + 3 + 100000), topK: 10 });
  }),
);
console.log(`recall ${conc} in flight: ${(1000 / ((performance.now() - t0) / 1000)).toFixed(0)} req/s`);
const t1 = performance.now();
n = 0;
await Promise.all(
  Array.from({ length: conc }, async () => {
    while (n < 1000) {
      n++;
      await client.ping({});
    }
  }),
);
console.log(`ping ${conc} in flight: ${(1000 / ((performance.now() - t1) / 1000)).toFixed(0)} req/s`);
await engram.stop();
