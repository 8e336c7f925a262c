import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EvictionRunMetrics } from "../../src/observability/eviction-run-metrics.js";
import { EngramMetrics } from "../../src/observability/metrics.js";
import { ProbeMetrics } from "../../src/observability/probe-metrics.js";

/** The Grafana dashboard only queries metrics Engram exports. */
describe("grafana dashboard", () => {
  const dashboard = JSON.parse(readFileSync("helm/engram/dashboards/engram.json", "utf8")) as {
    title: string;
    panels: { type: string; title: string; description?: string; targets?: { expr: string }[] }[];
  };

  it("parses and has panels for quality, latency, policy and backends", () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const expected of [
      "Empty-recall rate",
      "Used-rate (memories the LLM used / returned)",
      "RPC latency p99 by method",
      "Write-gate decisions",
      "Compactions and tokens saved",
      "Evictions by reason (per day)",
      "Hours since the last successful eviction run",
      "Backend up",
      "Hit rate by purpose",
      "MRR and nDCG by purpose",
      "Used memories by rank (per hour)",
      "Probe recall@k",
      "Probe MRR",
      "Probe latency",
      "Minutes since the last probe run",
    ]) {
      expect(titles).toContain(expected);
    }
  });

  it("names only metrics that Engram exports", async () => {
    const exported = new Set<string>();
    // The server's metrics, and those `engram evict` and `engram probe` push to a Pushgateway.
    const all = [
      ...(await new EngramMetrics().registry.getMetricsAsJSON()),
      ...(await new EvictionRunMetrics().registry.getMetricsAsJSON()),
      ...(await new ProbeMetrics().registry.getMetricsAsJSON()),
    ];
    for (const metric of all) {
      exported.add(metric.name);
      if (String(metric.type) === "histogram")
        for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(metric.name + suffix);
    }
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(queries.length).toBeGreaterThan(15);
    for (const query of queries) {
      const names = query.match(/\bengram_[a-z0-9_]+/g) ?? [];
      expect(names.length, query).toBeGreaterThan(0);
      for (const name of names) expect(exported, `${name} in ${query}`).toContain(name);
    }
  });

  it("says on every panel what feeds it", () => {
    for (const panel of dashboard.panels.filter((p) => p.type !== "row")) {
      expect(panel.description, panel.title).toMatch(/^Fed by /);
    }
    // The panels that stay empty until someone acts say so, and what to do.
    const feedback = dashboard.panels.filter((p) => /ReportUsage/.test(p.description ?? "") && p.type !== "row");
    expect(feedback.length).toBeGreaterThanOrEqual(5);
    for (const panel of feedback) expect(panel.description, panel.title).toMatch(/Empty until|Fed by ReportUsage/);
    for (const title of ["Hours since the last successful eviction run", "Evictions by reason (per day)"]) {
      expect(dashboard.panels.find((p) => p.title === title)?.description).toMatch(/Pushgateway/);
    }
  });
});
