import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { openClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Forgetting shows in Prometheus: EvictStale moves the server's
 * engram_evictions_total, and the `engram evict` CronJob, too short-lived to
 * be scraped, pushes its run to a Pushgateway (here a local HTTP server
 * speaking the Pushgateway's push API).
 */
const run = promisify(execFile);
const engram = [process.execPath, ["--import", "tsx", "src/main.ts"]] as const;

interface Push {
  method: string;
  path: string;
  body: string;
}
let gateway: Server;
let gatewayUrl: string;
const pushes: Push[] = [];
beforeAll(async () => {
  gateway = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      pushes.push({ method: req.method!, path: req.url!, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => gateway.close(() => resolve())));

/** A sample's value from the text exposition format, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function seed(server: TestServer, namespace: string): Promise<void> {
  const { client } = openClient("grpc", server.baseUrl);
  const scope = { namespace, userId: "u1" };
  await client.remember({ scope, type: MemoryType.EPISODIC, content: "Said hello once", importance: 0.01 });
  await client.remember({ scope, type: MemoryType.SEMANTIC, content: "Is allergic to peanuts", importance: 1 });
}

describe("eviction metrics", () => {
  it("EvictStale moves engram_evictions_total on the server's /metrics", async () => {
    const server = await startTestServer();
    try {
      await seed(server, "evict-rpc");
      const metrics = async () =>
        (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text().then((text) => {
          const band = sample(text, 'engram_evictions_total{reason="band"}') ?? 0;
          const policy = sample(text, 'engram_evictions_total{reason="policy"}') ?? 0;
          return band + policy;
        });
      expect(await metrics()).toBe(0);
      const { client } = openClient("grpc", server.baseUrl);
      const policy = { scoreThreshold: 0.5, minAgeHours: 0 };
      await client.evictStale({ namespace: "evict-rpc", dryRun: true, policy });
      expect(await metrics()).toBe(0);
      const report = await client.evictStale({ namespace: "evict-rpc", policy });
      expect(report.evicted).toBe(1n);
      expect(await metrics()).toBe(1);
    } finally {
      await server.destroy();
    }
  });

  it("`engram evict` pushes its run to the Pushgateway; a dry run pushes nothing; a failed run pushes its failure", async () => {
    const server = await startTestServer();
    const dataDir = server.dataDir;
    await seed(server, "evict-push");
    await server.stop();
    const env = {
      ...process.env,
      ENGRAM_DATA_DIR: dataDir,
      ENGRAM_EVICTION_MIN_AGE_HOURS: "0",
      ENGRAM_EVICTION_SCORE_THRESHOLD: "0.5",
      ENGRAM_PUSHGATEWAY_URL: gatewayUrl,
    };
    const before = Date.now() / 1000;

    await run(engram[0], [...engram[1], "evict", "--namespace", "evict-push", "--dry-run"], { env });
    expect(pushes).toEqual([]);

    const { stdout } = await run(engram[0], [...engram[1], "evict", "--namespace", "evict-push"], { env });
    expect(JSON.parse(stdout)).toMatchObject({ scanned: 2, evicted: 1 });
    expect(pushes).toHaveLength(1);
    const [push] = pushes;
    expect(push!.method).toBe("PUT");
    expect(push!.path).toBe("/metrics/job/engram_evict/eviction_namespace/evict-push");
    const evicted =
      sample(push!.body, 'engram_eviction_last_run_evicted{reason="band"}')! +
      sample(push!.body, 'engram_eviction_last_run_evicted{reason="policy"}')!;
    expect(evicted).toBe(1);
    expect(sample(push!.body, "engram_eviction_last_run_scanned")).toBe(2);
    expect(sample(push!.body, "engram_eviction_last_success_timestamp_seconds")).toBeGreaterThanOrEqual(
      Math.floor(before),
    );

    const failed = await run(engram[0], [...engram[1], "evict", "--user", "u1"], { env }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 1 });
    expect(pushes).toHaveLength(2);
    expect(sample(pushes[1]!.body, "engram_eviction_last_failure_timestamp_seconds")).toBeGreaterThanOrEqual(
      Math.floor(before),
    );
    expect(sample(pushes[1]!.body, "engram_eviction_last_success_timestamp_seconds")).toBe(0);
  });
});
