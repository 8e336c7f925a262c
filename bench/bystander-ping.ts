import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";

/** Another tenant pinging Engram on its own connection: what an attack costs everyone else. */
export interface Bystander {
  /** Ping latencies (ms) with nothing else running, after a warm-up: the baseline of the same run. */
  readonly idle: readonly number[];
  /** Pings one after another for as long as `attack` runs: their latencies (ms), and the attack's seconds. */
  during(attack: () => Promise<unknown>): Promise<{ waits: number[]; seconds: number }>;
}

/** Warms up (50 Pings), then measures `idleCalls` idle Pings. */
export async function bystanderPing(baseUrl: string, idleCalls: number): Promise<Bystander> {
  const client = createClient(MemoryService, createGrpcTransport({ baseUrl }));
  const ping = async () => {
    const started = performance.now();
    await client.ping({});
    return performance.now() - started;
  };
  for (let i = 0; i < 50; i++) await ping();
  const idle: number[] = [];
  for (let i = 0; i < idleCalls; i++) idle.push(await ping());
  return {
    idle,
    async during(attack) {
      let running = true;
      const started = performance.now();
      const done = attack().finally(() => (running = false));
      const waits: number[] = [];
      while (running) waits.push(await ping());
      await done;
      return { waits, seconds: (performance.now() - started) / 1000 };
    },
  };
}
