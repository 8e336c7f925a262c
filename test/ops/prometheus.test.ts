import { readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { EvictionRunMetrics } from "../../src/observability/eviction-run-metrics.js";
import { openClient } from "../support/clients.js";
import { helmBinary } from "../support/ops-tools.js";
import {
  startPrometheus,
  startPushgateway,
  type PrometheusServer,
  type PushgatewayServer,
} from "../support/prometheus-servers.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * The dashboard and the alerts proven against a real Prometheus (Debian's):
 * it scrapes a live Engram (default configuration, the in-process recall
 * probe on) and a real Pushgateway holding an `engram evict` run, loads the
 * chart's rendered rules, and, under a small workload that reports usage by
 * retrieval id, every dashboard query and every rule returns data; none
 * errors.
 */
const run = promisify(execFile);
const dashboard = JSON.parse(readFileSync("helm/engram/dashboards/engram.json", "utf8")) as {
  panels: { title: string; type: string; targets?: { expr: string }[] }[];
};
type Rule = { record?: string; alert?: string; expr: string };

let engram: TestServer;
let gateway: PushgatewayServer;
let prometheus: PrometheusServer;
let rules: Rule[];
const dir = mkdtempSync(join(tmpdir(), "engram-prometheus-rules-"));

beforeAll(async () => {
  const { stdout } = await run(helmBinary(), [
    "template",
    "engram",
    "helm/engram",
    "--set",
    "auth.tokensSecret=x",
    "--set",
    "alerts.enabled=true",
  ]);
  const spec = parseAllDocuments(stdout)
    .map((d) => d.toJS() as { kind: string; spec: { groups: { rules: Rule[] }[] } } | null)
    .find((m) => m?.kind === "PrometheusRule")!.spec;
  rules = spec.groups.flatMap((g) => g.rules);
  writeFileSync(join(dir, "rules.yaml"), stringify(spec));

  [engram, gateway] = await Promise.all([
    startTestServer({ ENGRAM_PROBE_INTERVAL_SECONDS: "1", ENGRAM_HEALTH_CHECK_INTERVAL_MS: "500" }),
    startPushgateway(),
  ]);
  // What `engram evict` pushes after a run (src/cli/evict.ts), through the same class.
  const evictRun = new EvictionRunMetrics();
  evictRun.recordEvicted({ band: 0, policy: 1 });
  evictRun.recordSuccess({ scanned: 2, evicted: 1, evictedIds: ["m"], dryRun: false }, 12, new Date());
  await evictRun.push(gateway.url, undefined);

  prometheus = await startPrometheus({
    targets: [`127.0.0.1:${engram.server.metricsPort}`, gateway.url.replace("http://", "")],
    scrapeInterval: "1s",
    ruleFiles: [join(dir, "rules.yaml")],
  });
  await workload(engram);
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await gateway?.stop();
  await engram?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A little of everything the dashboard shows: recall, feedback by retrieval id, learning, forgetting. */
async function workload(server: TestServer): Promise<void> {
  const { client } = openClient("grpc", server.baseUrl);
  const scope = { namespace: "dashboard", userId: "u1" };
  for (const content of [
    "Grows tomatoes on the balcony",
    "Prefers heirloom tomato varieties",
    "Waters the plants every morning",
  ]) {
    await client.remember({ scope, type: MemoryType.SEMANTIC, content, applyGate: true });
  }
  await client.remember({ scope, type: MemoryType.SEMANTIC, content: "Reach me at ana@example.com" });
  await client.remember({ scope, type: MemoryType.EPISODIC, content: "Said hello once", importance: 0.01 });
  const recalled = await client.recall({ scope, query: "tomatoes on the balcony", topK: 3 });
  await client.reportUsage({
    scope,
    retrievalId: recalled.retrievalId,
    usedIds: [recalled.memories[1]!.memory!.id],
  });
  await client.reportUsage({ scope, returnedIds: [recalled.memories[0]!.memory!.id], usedIds: [] });
  let assembled = "";
  const placed: string[] = [];
  for await (const event of client.assembleContext({ scope, query: "plants", tokenBudget: 500 })) {
    if (event.event.case === "section") placed.push(...event.event.value.items.map((i) => i.id));
    if (event.event.case === "summary") assembled = event.event.value.retrievalId;
  }
  await client.reportUsage({ scope, retrievalId: assembled, usedIds: [placed[0]!] });
  await client.recall({ scope: { namespace: "dashboard", userId: "nobody" }, query: "anything at all" });
  // A caller's mistake, for the errors panel: a retrieval this server never returned.
  await expect(client.reportUsage({ scope, retrievalId: "r_unknown", usedIds: [] })).rejects.toThrow(/not found/);
  await client.appendMessages({
    scope,
    sessionId: "s1",
    messages: [
      { role: Role.USER, content: "Remember that I am vegetarian and I live in Porto." },
      { role: Role.ASSISTANT, content: "Noted." },
    ],
  });
  await client.endSession({ scope, sessionId: "s1" });
  await client.evictStale({ namespace: "dashboard", policy: { scoreThreshold: 0.5, minAgeHours: 0 } });
}

describe("against a real Prometheus", () => {
  it("returns data for every dashboard query, and none errors", async () => {
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(queries.length).toBeGreaterThan(25);
    // Until a few scrapes have landed (rates need two samples), some panels are still empty.
    const empty = async () => {
      const missing: string[] = [];
      for (const { panel, expr } of queries) {
        const data = await prometheus.query(expr);
        if (data.result.length === 0) missing.push(`${panel}: ${expr}`);
      }
      return missing;
    };
    await expect.poll(empty, { timeout: 40_000, interval: 1000 }).toEqual([]);
  });

  it("returns data for every recorded measure the alerts compare, and evaluates every rule without error", async () => {
    const records = rules.filter((r) => r.record).map((r) => r.record!);
    expect(records.length).toBeGreaterThanOrEqual(9);
    const missing = async () => {
      const out: string[] = [];
      for (const record of records) if ((await prometheus.query(record)).result.length === 0) out.push(record);
      return out;
    };
    await expect.poll(missing, { timeout: 60_000, interval: 1000 }).toEqual([]);
    // Each alert's own expression runs (it returns series only while the condition holds).
    for (const alert of rules.filter((r) => r.alert)) await prometheus.query(alert.expr);
    // And Prometheus's own evaluation of the loaded rules reports no error.
    const response = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const loaded = response.data.groups.flatMap((g) => g.rules);
    expect(loaded).toHaveLength(rules.length);
    await expect
      .poll(
        async () => {
          const latest = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as typeof response;
          return latest.data.groups
            .flatMap((g) => g.rules)
            .filter((r) => r.health !== "ok")
            .map((r) => `${r.name}: ${r.health} ${r.lastError ?? ""}`);
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toEqual([]);
  });

  it("shows the probe's recall@k and the rank-aware feedback as Prometheus sees them", async () => {
    const recall = await prometheus.query('engram_probe_recall_at_k{probe_set="default"}');
    expect(Number((recall.result[0] as { value: [number, string] }).value[1])).toBeGreaterThanOrEqual(0.8);
    const hits = await prometheus.query('sum(engram_retrieval_reports_total{hit="true"})');
    expect(Number((hits.result[0] as { value: [number, string] }).value[1])).toBe(2);
  });
});
