import { ConfigError, loadConfig, type Config } from "../config.js";
import { warnUnreadVariables } from "./warn-unread-variables.js";
import { openEngram } from "../engram-factory.js";
import { captureConsole, createLogger } from "../observability/logger.js";
import { hashToken } from "../rpc/authentication.js";
import { startServer } from "../server.js";
import { evict } from "./evict.js";
import { reembed } from "./reembed.js";
import { EmbedderMismatchError } from "../domain/models.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { anonymousCaller } from "../domain/authorization.js";
import { createMcpServer } from "../mcp/mcp-server.js";
import { startTracing } from "../observability/tracing.js";
import { stageTimings } from "../observability/stage-timings.js";

/**
 * The `engram` command. One image, two entry points:
 *   engram serve   run the service (the default)
 *   engram evict   forget stale memories once and exit (the CronJob)
 *   engram mcp     a Model Context Protocol server on stdin/stdout (desktop agents)
 */
const usage = `usage:
  engram serve
  engram evict [--namespace NS [--user USER]] [--dry-run]
  engram reembed [--batch-size N] [--checkpoint FILE]
                            re-embed long-term memory with the configured embedder (resumable)
  engram mcp                MCP over stdio, as ENGRAM_MCP_USER_ID in ENGRAM_MCP_NAMESPACE
  engram hash-token TOKEN   print the SHA-256 to put in ENGRAM_AUTH_TOKENS_FILE

Configuration comes from ENGRAM_* environment variables (see README).`;

async function main(argv: readonly string[]): Promise<number> {
  const [command = "serve", ...rest] = argv;
  if (command === "hash-token") {
    if (rest.length !== 1) {
      process.stderr.write(`${usage}\n`);
      return 2;
    }
    process.stdout.write(`${hashToken(rest[0]!)}\n`);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`engram: invalid configuration: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  switch (command) {
    case "serve":
      return serve(config);
    case "evict":
      return evict(config, rest);
    case "reembed":
      return reembed(config, rest);
    case "mcp":
      return mcpStdio(config);
    case "help":
    case "--help":
      process.stdout.write(`${usage}\n`);
      return 0;
    default:
      process.stderr.write(`engram: unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}

async function serve(config: Config): Promise<number> {
  const logger = createLogger(config.log.level);
  captureConsole(logger);
  warnUnreadVariables(logger);
  const tracing = startTracing(config.tracing);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, logger);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`engram: invalid configuration: ${error.message}\n`);
      return 2;
    }
    if (error instanceof EmbedderMismatchError) {
      process.stderr.write(`engram: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info("signal received", { signal });
      server.shutdown().then(resolve, (error: unknown) => {
        logger.error("shutdown failed", { error });
        resolve();
      });
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    if (config.stageTimings) {
      // The figures since the last report (docs/performance.md): how `npm run bench` reads them.
      process.on("SIGUSR2", () => logger.info("stage timings", { stages: stageTimings.drain() }));
    }
  });
  await tracing?.shutdown();
  return 0;
}

/**
 * MCP over stdio for a desktop agent that starts Engram itself: the process
 * is the local user's, so it acts as the anonymous caller, in the scope the
 * agent's configuration names. stdout carries the protocol: logs go to stderr.
 */
async function mcpStdio(config: Config): Promise<number> {
  const userId = config.mcp.userId;
  if (userId === undefined) {
    process.stderr.write("engram: invalid configuration: ENGRAM_MCP_USER_ID: is required for engram mcp\n");
    return 2;
  }
  const logger = createLogger(config.log.level, (line) => process.stderr.write(line));
  captureConsole(logger);
  const tracing = startTracing(config.tracing);
  const { engram, stores } = await openEngram(config);
  // This process is the agent's whole Engram: it learns from sessions too.
  await engram.start();
  const server = createMcpServer(engram, {
    caller: anonymousCaller,
    scope: { namespace: config.mcp.namespace, userId },
  });
  const closed = new Promise<void>((resolve) => (server.server.onclose = resolve));
  await server.connect(new StdioServerTransport());
  logger.info("engram mcp serving on stdio", { namespace: config.mcp.namespace, userId });
  // The agent ends the server by closing stdin (or by a signal).
  await Promise.race([
    closed,
    new Promise<void>((resolve) => process.stdin.once("end", resolve)),
    new Promise<void>((resolve) => process.once("SIGTERM", () => resolve())),
    new Promise<void>((resolve) => process.once("SIGINT", () => resolve())),
  ]);
  await server.close();
  await engram.close();
  await stores.close();
  await tracing?.shutdown();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`engram: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
