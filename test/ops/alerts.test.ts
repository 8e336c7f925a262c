import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { helmBinary } from "../support/ops-tools.js";

/**
 * The chart's alerts as code: the PrometheusRule it renders (alerts.enabled)
 * passes `promtool check rules`, and `promtool test rules` (Debian's
 * prometheus package) shows each alert firing when it should and not
 * otherwise (test/ops/alerts/engram-rules.promtool.yaml).
 */
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "engram-alerts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The rendered PrometheusRule's spec: a Prometheus rule file's content. */
async function renderedRules(...args: string[]): Promise<{ groups: { name: string; rules: any[] }[] }> {
  const { stdout } = await run(helmBinary(), [
    "template",
    "engram",
    "helm/engram",
    "--set",
    "auth.tokensSecret=engram-auth-tokens",
    "--set",
    "alerts.enabled=true",
    ...args,
  ]);
  const rule = parseAllDocuments(stdout)
    .map((d) => d.toJS() as { kind: string; spec: any } | null)
    .find((m) => m?.kind === "PrometheusRule");
  if (!rule) throw new Error("no PrometheusRule rendered");
  return rule.spec;
}

describe("alerts (PrometheusRule)", () => {
  it("is rendered only when asked", async () => {
    const { stdout } = await run(helmBinary(), ["template", "engram", "helm/engram", "--set", "auth.tokensSecret=x"]);
    expect(stdout).not.toMatch(/kind: PrometheusRule/);
  });

  it("covers probe recall, used-rate, empty recalls, learning lag, eviction and backends", async () => {
    const spec = await renderedRules("--set-json", "alerts.probeRecallBelow=0.65");
    const alerts = spec.groups.flatMap((g) => g.rules.filter((r) => r.alert).map((r) => r.alert as string));
    expect(new Set(alerts)).toEqual(
      new Set([
        "EngramProbeRecallLow",
        "EngramProbeNotRunning",
        "EngramUsedRateFalling",
        "EngramEmptyRecallRateRising",
        "EngramLearningLagHigh",
        "EngramEvictionNotRun",
        "EngramEvictionNeverReported",
        "EngramBackendDown",
      ]),
    );
    // Thresholds come from values.
    const probe = spec.groups.flatMap((g) => g.rules).find((r) => r.alert === "EngramProbeRecallLow");
    expect(probe.expr).toBe("engram:probe_recall_at_k:min < 0.65");
  });

  it("passes promtool check rules and promtool test rules", async () => {
    writeFileSync(join(dir, "rules.yaml"), stringify(await renderedRules()));
    copyFileSync("test/ops/alerts/engram-rules.promtool.yaml", join(dir, "engram-rules.promtool.yaml"));
    const checked = await run("promtool", ["check", "rules", join(dir, "rules.yaml")]);
    expect(checked.stdout).toMatch(/SUCCESS: 17 rules found/);
    const tested = await run("promtool", ["test", "rules", join(dir, "engram-rules.promtool.yaml")]).catch(
      (error: { stdout: string; stderr: string }) => {
        throw new Error(`promtool test rules failed:\n${error.stdout}${error.stderr}`);
      },
    );
    expect(tested.stdout).toMatch(/SUCCESS/);
    // Every alert is exercised by a case of the promtool file.
    const cases = parse(readFileSync("test/ops/alerts/engram-rules.promtool.yaml", "utf8")) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const fired = new Set(
      cases.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    const spec = await renderedRules();
    for (const alert of spec.groups.flatMap((g) => g.rules).filter((r) => r.alert)) {
      expect(fired, `${alert.alert} has a firing case`).toContain(alert.alert);
    }
  });
});
