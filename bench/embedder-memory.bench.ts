import { spawnSync } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { loadConfig } from "../src/config.js";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { topics } from "./corpus.js";
import { startEngramProcess } from "./engram-process.js";

/**
 * Issue #24, item 4: what the default embedder (all-MiniLM-L6-v2 int8 on
 * onnxruntime) holds in memory, step by step, each step in a fresh process
 * (bench/embedder-memory-stages.mjs), then the whole server's resident set
 * idle, after a Recall and after a burst of long Recalls. Every figure is
 * shown with glibc's default malloc and with its mmap threshold fixed
 * (MALLOC_MMAP_THRESHOLD_=131072, what the container image sets), with the
 * inference speed (the better of two alternated runs) and a digest of one
 * vector to show results unchanged.
 */
const fixedThreshold = { MALLOC_MMAP_THRESHOLD_: "131072" };

export async function benchEmbedderMemory(): Promise<void> {
  const modelDir = loadConfig({ ...process.env, ENGRAM_MODEL_PROVIDER: "local-onnx" }).models.onnx!.modelDir;
  const stages = (mode: string, env: Record<string, string>) => {
    const run = spawnSync(process.execPath, ["--expose-gc", "bench/embedder-memory-stages.mjs", modelDir, mode], {
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
    if (run.status !== 0) throw new Error(`embedder-memory-stages.mjs failed: ${run.stderr}`);
    return run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, number | string> & { step: string; rss: number });
  };

  const components = stages("components", {});
  console.log(
    `\nWhat the default embedder's parts hold, loaded one by one in a fresh process (resident set, MiB; load average ${load()})`,
  );
  console.log("| step | RSS | added |");
  console.log("|---|---:|---:|");
  components.forEach((s, i) =>
    console.log(`| ${s.step} | ${s.rss.toFixed(0)} | ${i === 0 ? "" : (s.rss - components[i - 1]!.rss).toFixed(0)} |`),
  );

  // Alternated, twice each, so the machine's load drifts over both alike; memory from the first pair, speed the better of two.
  const plain = stages("embedder", {});
  const fixed = stages("embedder", fixedThreshold);
  const plainAgain = stages("embedder", {});
  const fixedAgain = stages("embedder", fixedThreshold);
  for (const [runs, again] of [
    [plain, plainAgain],
    [fixed, fixedAgain],
  ] as const) {
    runs.forEach((s, i) => {
      for (const key of ["msPerQuery", "msPerBurst"]) {
        const other = again[i]?.[key];
        if (typeof s[key] === "number" && typeof other === "number") s[key] = Math.min(s[key], other);
      }
    });
  }
  console.log(`\nThe embedder as Engram opens and uses it (resident set, MiB; load average ${load()})`);
  console.log("| step | glibc default | mmap threshold fixed | difference | detail (default / fixed) |");
  console.log("|---|---:|---:|---:|---|");
  plain.forEach((s, i) => {
    const f = fixed[i]!;
    const detail = ["msPerQuery", "msPerBurst", "vectorDigest"]
      .filter((k) => s[k] !== undefined)
      .map((k) => `${k} ${format(s[k])} / ${format(f[k])}`)
      .join("; ");
    console.log(
      `| ${s.step} | ${s.rss.toFixed(0)} | ${f.rss.toFixed(0)} | ${(f.rss - s.rss).toFixed(0)} | ${detail} |`,
    );
  });

  console.log(`\nThe server's resident set (MiB), embedded store`);
  console.log("| moment | glibc default | mmap threshold fixed |");
  console.log("|---|---:|---:|");
  const rows: [string, number, number][] = [];
  const withoutModel = [
    await serverRss({ ENGRAM_MODEL_PROVIDER: "local" }),
    await serverRss({ ENGRAM_MODEL_PROVIDER: "local", ...fixedThreshold }),
  ];
  const withModel = [await serverRss({}), await serverRss(fixedThreshold)];
  rows.push(["idle, hashed embedder (no model)", withoutModel[0]!.idle, withoutModel[1]!.idle]);
  for (const key of ["idle", "afterRecall", "afterBurst", "idleAfter"] as const) {
    rows.push([moments[key], withModel[0]![key], withModel[1]![key]]);
  }
  for (const [moment, a, b] of rows) console.log(`| ${moment} | ${a.toFixed(0)} | ${b.toFixed(0)} |`);
  console.log(`(load average ${load()} on ${availableParallelism()} cores)`);
}

const moments = {
  idle: "idle, default model loaded",
  afterRecall: "after the first Recall",
  afterBurst: "after 20 concurrent Recalls of 8 KiB queries",
  idleAfter: "idle 5 s after the burst",
};

async function serverRss(env: Record<string, string>): Promise<Record<keyof typeof moments, number>> {
  const engram = await startEngramProcess(env);
  try {
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await pause(2000);
    const idle = engram.rssMiB();
    const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
    const scope = { namespace: "bench", userId: "memory" };
    await client.importMemories({
      scope,
      memories: Array.from({ length: 100 }, (_, i) => ({ type: MemoryType.SEMANTIC, content: topics(i) })),
    });
    await client.recall({ scope, query: topics(7), topK: 10 });
    await pause(500);
    const afterRecall = engram.rssMiB();
    const long = (i: number) =>
      Array.from({ length: 900 }, (_, k) => `w${i}x${k}`)
        .join(" ")
        .slice(0, 8000);
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.recall({ scope, query: long(i), topK: 10 })));
    const afterBurst = engram.rssMiB();
    await pause(5000);
    return { idle, afterRecall, afterBurst, idleAfter: engram.rssMiB() };
  } finally {
    await engram.stop();
  }
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
}

function format(value: unknown): string {
  return typeof value === "number" ? value.toFixed(1) : String(value);
}
