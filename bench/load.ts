import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../src/gen/engram/v1/short_term_pb.js";
import { startRedis } from "../test/support/redis-servers.js";
import { startWeaviate } from "../test/support/weaviate-server.js";
import { startEngramProcess } from "./engram-process.js";

/**
 * Load with faults: `clients` concurrent callers send mixed traffic for
 * `seconds` against Engram on Redis + Weaviate; a third of the way in Redis
 * is killed and restarted, two thirds in Weaviate is. Afterwards every
 * acknowledged write must be readable, and every error must have been
 * UNAVAILABLE (or the caller's own deadline while a backend was down).
 */
export interface LoadReport {
  readonly seconds: number;
  readonly calls: number;
  readonly throughputPerSecond: number;
  readonly latency: Record<string, { p50Ms: number; p99Ms: number; calls: number }>;
  readonly errors: Record<string, number>;
  readonly acknowledgedMessages: number;
  readonly acknowledgedMemories: number;
  readonly lostMessages: number;
  readonly lostMemories: number;
  readonly maxRssMiB: number;
}

export async function runLoad(options: { clients: number; seconds: number }): Promise<LoadReport> {
  const [redis, weaviate] = await Promise.all([startRedis({ durable: true }), startWeaviate()]);
  const engram = await startEngramProcess({
    ENGRAM_REDIS_URL: redis.url,
    ENGRAM_WEAVIATE_URL: weaviate.url,
    ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
    ENGRAM_REDIS_COMMAND_TIMEOUT_MS: "1000",
    ENGRAM_WEAVIATE_TIMEOUT_MS: "2000",
    ENGRAM_HEALTH_CHECK_INTERVAL_MS: "250",
    ENGRAM_SESSION_TOKEN_LIMIT: "1000000",
  });
  const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
  const latencies = new Map<string, number[]>();
  const errors: Record<string, number> = {};
  const messages = new Map<string, string[]>();
  const memories = new Map<string, { namespace: string; userId: string }>();
  let maxRss = 0;
  const sampleRss = () => {
    const status = readFileSync(`/proc/${engram.pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    maxRss = Math.max(maxRss, kb / 1024);
  };
  const timed = async (name: string, call: () => Promise<unknown>): Promise<boolean> => {
    const started = performance.now();
    try {
      await call();
      const list = latencies.get(name) ?? [];
      list.push(performance.now() - started);
      latencies.set(name, list);
      return true;
    } catch (error) {
      const code = Code[ConnectError.from(error).code];
      errors[code] = (errors[code] ?? 0) + 1;
      return false;
    }
  };

  const endAt = Date.now() + options.seconds * 1000;
  const worker = async (w: number) => {
    const scope = { namespace: "load", userId: `user-${w}` };
    for (let i = 0; Date.now() < endAt; i++) {
      const kind = i % 5;
      if (kind === 0 || kind === 3) {
        const sessionId = `s-${w}`;
        const content = `w${w} message ${i} about the trip`;
        const ok = await timed("AppendMessages", () =>
          client.appendMessages({ scope, sessionId, messages: [{ role: Role.USER, content }] }, { timeoutMs: 3000 }),
        );
        if (ok) messages.set(sessionId, [...(messages.get(sessionId) ?? []), content]);
      } else if (kind === 1) {
        let id = "";
        const ok = await timed("Remember", async () => {
          const r = await client.remember(
            { scope, type: MemoryType.SEMANTIC, content: `fact ${w}-${i}: prefers route ${i % 17}` },
            { timeoutMs: 3000 },
          );
          id = r.memory!.id;
        });
        if (ok) memories.set(id, scope);
      } else if (kind === 2) {
        await timed("Recall", () => client.recall({ scope, query: `route ${i % 17}` }, { timeoutMs: 3000 }));
      } else {
        await timed("AssembleContext", async () => {
          for await (const _ of client.assembleContext(
            { scope, sessionId: `s-${w}`, query: "trip", tokenBudget: 500 },
            { timeoutMs: 3000 },
          )) {
            // drain
          }
        });
      }
    }
  };
  const faults = (async () => {
    const third = (options.seconds * 1000) / 3;
    await sleep(third);
    await redis.kill();
    await sleep(Math.min(2000, third / 3));
    await redis.restart();
    await sleep(third / 2);
    await weaviate.kill();
    await sleep(Math.min(2000, third / 3));
    await weaviate.restart();
  })();
  const sampler = setInterval(sampleRss, 250);
  const started = performance.now();
  await Promise.all([...Array.from({ length: options.clients }, (_, w) => worker(w)), faults]);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  sampleRss();

  // Let health checks see the backends again, then verify every acknowledged write.
  await sleep(1500);
  let lostMessages = 0;
  for (const [sessionId, sent] of messages) {
    const w = Number(sessionId.slice(2));
    const stored = new Set(
      (await client.getMessages({ scope: { namespace: "load", userId: `user-${w}` }, sessionId })).messages.map(
        (m) => m.content,
      ),
    );
    lostMessages += sent.filter((c) => !stored.has(c)).length;
  }
  let lostMemories = 0;
  for (const [id, scope] of memories) {
    await client.getMemory({ scope, memoryId: id }).catch(() => lostMemories++);
  }
  await engram.stop();
  await Promise.all([redis.stop(), weaviate.stop()]);

  const latency: LoadReport["latency"] = {};
  let calls = 0;
  for (const [name, list] of latencies) {
    list.sort((a, b) => a - b);
    calls += list.length;
    latency[name] = {
      calls: list.length,
      p50Ms: list[Math.floor(list.length * 0.5)] ?? 0,
      p99Ms: list[Math.floor(list.length * 0.99)] ?? 0,
    };
  }
  calls += Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    seconds,
    calls,
    throughputPerSecond: calls / seconds,
    latency,
    errors,
    acknowledgedMessages: [...messages.values()].reduce((n, l) => n + l.length, 0),
    acknowledgedMemories: memories.size,
    lostMessages,
    lostMemories,
    maxRssMiB: Math.round(maxRss),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `npm run load`: LOAD_CLIENTS (default 16) callers for LOAD_SECONDS (default 60). */
if (import.meta.url === `file://${process.argv[1]}`) {
  const report = await runLoad({
    clients: Number(process.env.LOAD_CLIENTS ?? 16),
    seconds: Number(process.env.LOAD_SECONDS ?? 60),
  });
  console.log(JSON.stringify(report, null, 2));
  const unexpected = Object.keys(report.errors).filter((c) => c !== "Unavailable" && c !== "DeadlineExceeded");
  if (report.lostMessages + report.lostMemories > 0 || unexpected.length > 0) {
    console.error(
      `load test failed: lost ${report.lostMessages} messages, ${report.lostMemories} memories; unexpected errors ${unexpected.join(", ")}`,
    );
    process.exit(1);
  }
}
