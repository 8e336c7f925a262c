import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../src/gen/engram/v1/short_term_pb.js";
import { scanPii } from "../src/domain/pii.js";
import { countTokens } from "../src/domain/tokenizer.js";
import { adversarialTexts } from "../test/support/adversarial-texts.js";
import { startEngramProcess } from "./engram-process.js";
import { bystanderPing } from "./bystander-ping.js";
import { benchImportStall } from "./import-stall.bench.js";

/**
 * Bounded work per request: what token counting and PII scanning cost per
 * KiB on the texts that were super-linear, and how long another tenant's
 * Ping waits while one caller sends them (AppendMessages of 30 x 32 KiB,
 * AssembleContext with 10 x 64 KiB documents, EndSession), beside an idle
 * Ping in the same run.
 */
export async function benchBoundedWork(): Promise<void> {
  const texts = adversarialTexts();
  const shapes = ["random letters", "emoji", "CJK", '"a-" x 16k', '"eyJa-" to 32 KiB', '"1." x 16k'];
  console.log("\nBounded work: one 32 KiB message, in-process (ms per KiB of UTF-8)");
  console.log("| text | countTokens ms/KiB | scanPii ms/KiB |");
  console.log("|---|---:|---:|");
  countTokens(texts.messages[0]!.slice(0, 1000));
  texts.messages.forEach((text, i) => {
    const kib = Buffer.byteLength(text) / 1024;
    const count = time(() => countTokens(text));
    const scan = time(() => scanPii(text));
    console.log(`| ${shapes[i]} | ${(count / kib).toFixed(2)} | ${(scan / kib).toFixed(3)} |`);
  });

  const engram = await startEngramProcess();
  try {
    const attacker = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
    const bystander = await bystanderPing(engram.baseUrl, 200);
    const scope = { namespace: "attacker", userId: "mallory" };
    const sessionId = randomUUID();
    const { waits: busy, seconds: attackSeconds } = await bystander.during(async () => {
      await attacker.appendMessages({
        scope,
        sessionId,
        messages: Array.from({ length: 30 }, (_, i) => ({ role: Role.USER, content: texts.messages[i % 6]! })),
      });
      for await (const _ of attacker.assembleContext({
        scope,
        sessionId,
        query: "anything",
        tokenBudget: 4000,
        documents: texts.documents.map((content, i) => ({ id: `doc-${i}`, content })),
      }));
      await attacker.endSession({ scope, sessionId });
    });
    console.log(
      `\nAnother tenant's Ping while one caller sends them (Engram in its own process, loopback gRPC; ` +
        `the attack took ${attackSeconds.toFixed(1)} s)`,
    );
    console.log("| Ping | calls | p50 ms | p99 ms | max ms |");
    console.log("|---|---:|---:|---:|---:|");
    for (const [label, latencies] of [
      ["idle", bystander.idle],
      ["during the attack", busy],
    ] as const) {
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
      console.log(`| ${label} | ${sorted.length} | ${at(0.5)} | ${at(0.99)} | ${sorted.at(-1)!.toFixed(1)} |`);
    }
  } finally {
    await engram.stop();
  }
  await benchImportStall();
}

function time(work: () => unknown): number {
  const started = performance.now();
  work();
  return performance.now() - started;
}
