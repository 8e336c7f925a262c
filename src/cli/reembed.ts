import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, type Config } from "../config.js";
import { identityKey } from "../domain/models.js";
import { reembedStore } from "../domain/reembedding.js";
import { openConfiguredStores, openModels } from "../engram-factory.js";
import { captureConsole, createLogger } from "../observability/logger.js";

/**
 * `engram reembed`: re-embeds every long-term memory with the configured
 * embedder, then records it as the store's embedder, so the server starts
 * again after a change of embedding model. Resumable: finished users are
 * checkpointed to a file, and a run with the same target skips them.
 * Progress goes to stderr as JSON lines, the summary to stdout.
 */
export async function reembed(config: Config, args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      "batch-size": { type: "string", default: "64" },
      checkpoint: { type: "string" },
    },
  });
  const batchSize = Number(values["batch-size"]);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    process.stderr.write(`${JSON.stringify({ error: "--batch-size: must be an integer from 1 to 10000" })}\n`);
    return 2;
  }
  const checkpointFile = values.checkpoint ?? join(dirname(config.store.sqlitePath), "reembed-checkpoint.json");
  const logger = createLogger(config.log.level, (line) => process.stderr.write(line));
  captureConsole(logger);
  const { embedder } = await openModels(config);
  const target = identityKey(embedder.identity, embedder.dimensions);
  // Claims the embedded database like a server: re-embedding beside a writer would mix two embedders' vectors.
  let stores: Awaited<ReturnType<typeof openConfiguredStores>>;
  try {
    stores = await openConfiguredStores(config, embedder.dimensions, undefined, { anyVectors: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${JSON.stringify({ error: `invalid configuration: ${error.message}` })}\n`);
    return 2;
  }
  const started = Date.now();
  try {
    const from = await stores.longTerm.embedderIdentity();
    const checkpoint = readCheckpoint(checkpointFile, target);
    logger.info("reembed started", { from, to: target, resumedUsers: checkpoint.size, checkpoint: checkpointFile });
    let lastReport = 0;
    const result = await reembedStore(stores.longTerm, embedder, {
      batchSize,
      done: checkpoint,
      userDone: (key, progress) => {
        checkpoint.add(key);
        writeFileSync(checkpointFile, JSON.stringify({ target, done: [...checkpoint] }));
        if (Date.now() - lastReport >= 1000) {
          lastReport = Date.now();
          logger.info("reembed progress", { ...progress, elapsedMs: Date.now() - started });
        }
      },
    });
    await stores.longTerm.recordEmbedderIdentity(target);
    rmSync(checkpointFile, { force: true });
    process.stdout.write(`${JSON.stringify({ from, to: target, ...result, durationMs: Date.now() - started })}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(
      `${JSON.stringify({ error: error instanceof Error ? error.message : String(error), checkpoint: checkpointFile })}\n`,
    );
    return 1;
  } finally {
    await stores.close();
  }
}

/** Users a previous run with the same target finished; none for another target or no file. */
function readCheckpoint(file: string, target: string): Set<string> {
  if (!existsSync(file)) return new Set();
  const saved = JSON.parse(readFileSync(file, "utf8")) as { target?: string; done?: string[] };
  return new Set(saved.target === target ? (saved.done ?? []) : []);
}
