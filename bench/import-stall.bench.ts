import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../src/gen/engram/v1/short_term_pb.js";
import { bystanderPing } from "./bystander-ping.js";
import { startEngramProcess } from "./engram-process.js";
import { randomWords } from "../test/support/adversarial-texts.js";

/**
 * The worst inputs of ImportMemories at its limits, and AppendMessages on a
 * tokenizer that has seen a lot, while another tenant pings: the longest
 * Ping wait per attack beside an idle Ping in the same run (#21: 26.5 s and
 * 6.6 s before on a quiet machine; the bar is 250 ms), and the server's
 * longest synchronous step during it. Then what 100 x
 * 32 KiB appends cost on a fresh server and after 300 more such messages.
 */
export async function benchImportStall(): Promise<void> {
  const words = randomWords;
  const rows: string[] = [];
  // BENCH_STALL_BEFORE_MAIN names another build's entry point (e.g. main's dist/main.js) to run first, as
  // the baseline of the same run.
  const before = process.env.BENCH_STALL_BEFORE_MAIN;
  const builds = [...(before ? [["before", before]] : []), ["this build", "dist/main.js"]] as const;
  for (const [build, main, hashed, env] of builds.flatMap(([build, main]) => [
    [build, main, true, { ENGRAM_MODEL_PROVIDER: "local" }] as const,
    [build, main, false, {}] as const,
  ])) {
    const label = `${hashed ? "hashed embedder" : "default embedder (MiniLM)"}${before ? `, ${build}` : ""}`;
    const engram = await startEngramProcess(env, main, { loopProbe: true });
    try {
      const attacker = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
      const { idle, during } = await bystanderPing(engram.baseUrl, 100);
      engram.eventLoopBlocks();
      const report = (what: string, { waits, seconds }: { waits: number[]; seconds: number }) => {
        const { longestOnCpuMs } = engram.eventLoopBlocks();
        rows.push(
          `| ${label} | ${what} | ${seconds.toFixed(1)} | ${median(idle).toFixed(2)} | ` +
            `${waits.length} | ${median(waits).toFixed(2)} | ${Math.max(...waits).toFixed(0)} | ${longestOnCpuMs.toFixed(0)} |`,
        );
      };
      const count = hashed ? 480 : 32;
      const base = words(7, 8 * 1024 - 16);
      const contents = Array.from({ length: count / 2 }, (_, i) => `${base} unique${i}`);
      report(
        `ImportMemories ${count} x 8 KiB near-identical`,
        await during(() =>
          attacker.importMemories({
            scope: { namespace: "bench", userId: randomUUID() },
            memories: [...contents, ...contents].map((content) => ({ type: MemoryType.SEMANTIC, content })),
          }),
        ),
      );
      if (!hashed) continue;
      const scope = { namespace: "bench", userId: randomUUID() };
      for (let batch = 0; batch < 5; batch++) {
        await attacker.importMemories({
          scope,
          memories: Array.from({ length: 1000 }, (_, i) => ({
            type: MemoryType.EPISODIC,
            content: `${words(batch * 1000 + i + 1, 200)} note ${batch * 1000 + i}`,
          })),
        });
      }
      engram.eventLoopBlocks(); // the seeding above is not the attack
      report(
        "ImportMemories 100 x 8 KiB into 5,000",
        await during(() =>
          attacker.importMemories({
            scope,
            memories: Array.from({ length: 100 }, (_, i) => ({
              type: MemoryType.EPISODIC,
              content: words(100_000 + i, 8 * 1024),
            })),
          }),
        ),
      );
      // The tokenizer: 100 x 32 KiB of rare words, fresh, then after 300 more such messages.
      const append = (seed: number) =>
        attacker.appendMessages({
          scope: { namespace: "bench", userId: randomUUID() },
          sessionId: randomUUID(),
          messages: Array.from({ length: 100 }, (_, i) => ({
            role: Role.USER,
            content: words(seed + i, 32 * 1024),
          })),
        });
      report("AppendMessages 100 x 32 KiB, fresh server", await during(() => append(1_000_000)));
      for (let round = 0; round < 3; round++) await append(2_000_000 + round * 1000);
      // What those appends queued (their compactions) runs during the next: it counts there, as it did.
      report("AppendMessages 100 x 32 KiB, after 300 more", await during(() => append(3_000_000)));
    } finally {
      await engram.stop();
    }
  }
  console.log("\nAnother tenant's Ping during the heaviest legal calls (Engram in its own process; loopback gRPC)");
  console.log(
    "(longest on-CPU step: the server main thread's longest late event-loop tick, counting only the CPU it used" +
      " meanwhile, so the machine's other load does not inflate it; see bench/event-loop-probe.mjs)",
  );
  console.log(
    "| embedder | attack | attack s | idle Ping p50 ms | Pings during | p50 ms | longest ms | longest on-CPU step ms |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) console.log(row);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
