import { parseArgs } from "node:util";
import { ConfigError, type Config } from "../config.js";
import { openConfiguredStores, openEngram } from "../engram-factory.js";
import { captureConsole, createLogger } from "../observability/logger.js";
import { ProbeMetrics } from "../observability/probe-metrics.js";
import type { ProbeSet } from "../domain/probe-set.js";
import { loadProbeSet } from "../probe/probe-set-file.js";
import { RecallProbe } from "../probe/recall-probe.js";
import { warnUnreadVariables } from "./warn-unread-variables.js";

/**
 * `engram probe`: runs the recall probe once and exits (the chart's probe
 * CronJob). stdout carries one JSON report (recall@k, MRR, missed queries,
 * per-query latency); errors go to stderr. With ENGRAM_PUSHGATEWAY_URL the
 * figures, or the failure, are pushed to the Pushgateway (job
 * `engram_probe`); a failed push is a warning, not a failed run. Exits 1 if
 * the run failed, 0 otherwise: a low recall is for the alert, not the job.
 */
export async function probe(config: Config, args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { "probe-set": { type: "string" }, "top-k": { type: "string" } },
  });
  const logger = createLogger(config.log.level, (line) => process.stderr.write(line));
  captureConsole(logger);
  warnUnreadVariables(logger);
  let set: ProbeSet;
  const topK = values["top-k"] === undefined ? config.quality.probe.topK : Number(values["top-k"]);
  try {
    set =
      values["probe-set"] !== undefined
        ? loadProbeSet(values["probe-set"], "--probe-set")
        : loadProbeSet(config.quality.probe.setFile);
    if (!Number.isInteger(topK) || topK < 1 || topK > 100) {
      throw new ConfigError("--top-k", `must be an integer from 1 to 100, got "${values["top-k"]}"`);
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`engram: invalid configuration: ${error.message}\n`);
    return 2;
  }
  const metrics = new ProbeMetrics();
  // The CronJob runs beside the server, on its file (SQLite's WAL lets two processes share it).
  const { engram, stores } = await openEngram(config, {}, (c, dimensions, embedder) =>
    openConfiguredStores(c, dimensions, embedder, { besideServer: true }),
  );
  let code: number;
  try {
    const run = await new RecallProbe(engram.longTerm, set, { namespace: config.quality.probe.namespace, topK }).run();
    metrics.recordRun(run, new Date());
    const latencies = run.results.map((r) => r.seconds).sort((a, b) => a - b);
    process.stdout.write(
      `${JSON.stringify({
        probeSet: run.probeSet,
        topK,
        ...run.score,
        seeded: run.seeded,
        seconds: run.seconds,
        queryP50Seconds: latencies[Math.floor((latencies.length - 1) / 2)] ?? 0,
        queryMaxSeconds: latencies.at(-1) ?? 0,
      })}\n`,
    );
    code = 0;
  } catch (error) {
    metrics.recordFailure(set.name, new Date());
    process.stderr.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
    code = 1;
  } finally {
    await engram.close();
    await stores.close();
  }
  // One Pushgateway for every CronJob: ENGRAM_PUSHGATEWAY_URL, read with the eviction settings.
  const pushgatewayUrl = config.eviction.pushgatewayUrl;
  if (pushgatewayUrl !== undefined) {
    try {
      await metrics.push(pushgatewayUrl, set.name);
    } catch (error) {
      logger.warn("probe figures not pushed to the Pushgateway", { url: pushgatewayUrl, error });
    }
  }
  return code;
}
