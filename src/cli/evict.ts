import { parseArgs } from "node:util";
import type { Config } from "../config.js";
import { openConfiguredStores, openEngram } from "../engram-factory.js";
import { EvictionRunMetrics } from "../observability/eviction-run-metrics.js";
import { captureConsole, createLogger } from "../observability/logger.js";
import { warnUnreadVariables } from "./warn-unread-variables.js";

/**
 * `engram evict`: forgets stale memories once and exits (the CronJob).
 * stdout carries the one JSON report; errors and warnings go to stderr as
 * JSON. With ENGRAM_PUSHGATEWAY_URL, a real run (not a dry run) pushes what
 * it did, or that it failed, to the Pushgateway; a failed push is a warning,
 * not a failed run (the forgetting happened; the staleness alert on the
 * last success will notice a Pushgateway that stays away).
 */
export async function evict(config: Config, args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      namespace: { type: "string" },
      user: { type: "string" },
      "dry-run": { type: "boolean", default: false },
    },
  });
  const dryRun = values["dry-run"] ?? false;
  const logger = createLogger(config.log.level, (line) => process.stderr.write(line));
  // Anything a library prints goes to stderr too, as JSON.
  captureConsole(logger);
  warnUnreadVariables(logger);
  const run = new EvictionRunMetrics();
  // The CronJob runs beside the server, on its file (SQLite's WAL lets two processes share it).
  const { engram, stores } = await openEngram(
    leaveTenantsAsleep(config),
    { evicted: (counts) => run.recordEvicted(counts) },
    (c, dimensions, embedder) => openConfiguredStores(c, dimensions, embedder, { besideServer: true }),
  );
  const started = Date.now();
  let code: number;
  try {
    const report = await engram.evictStale({ namespace: values.namespace, userId: values.user }, {}, { dryRun });
    const durationMs = Date.now() - started;
    run.recordSuccess(report, durationMs, new Date());
    process.stdout.write(`${JSON.stringify({ ...report, durationMs })}\n`);
    code = 0;
  } catch (error) {
    run.recordFailure(Date.now() - started, new Date());
    process.stderr.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
    code = 1;
  } finally {
    await engram.close();
    await stores.close();
  }
  if (config.eviction.pushgatewayUrl !== undefined && !dryRun) {
    try {
      await run.push(config.eviction.pushgatewayUrl, values.namespace);
    } catch (error) {
      logger.warn("eviction summary not pushed to the Pushgateway", { url: config.eviction.pushgatewayUrl, error });
    }
  }
  return code;
}

/**
 * Eviction reads every user's memories, which wakes every sleeping Weaviate
 * tenant; a nightly job must not undo the servers' work of putting idle users
 * to sleep. So this job does not sweep, and on closing puts back to sleep the
 * tenants that were asleep when it started.
 */
function leaveTenantsAsleep(config: Config): Config {
  const weaviate = config.store.weaviate;
  if (weaviate?.tenantSleep === undefined) return config;
  return {
    ...config,
    store: {
      ...config.store,
      weaviate: { ...weaviate, tenantSleep: { ...weaviate.tenantSleep, restoreOnClose: true } },
    },
  };
}
