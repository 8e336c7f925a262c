import { ConfigError, loadConfig, type Config } from "../config.js";
import { warnUnreadVariables } from "./warn-unread-variables.js";
import { openEngram } from "../engram-factory.js";
import { captureConsole, createLogger } from "../observability/logger.js";
import { hashToken } from "../rpc/authentication.js";
import { startServer } from "../server.js";
import { evict } from "./evict.js";
import { reembed } from "./reembed.js";
import { probe } from "./probe.js";
import { EmbedderMismatchError } from "../domain/models.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { anonymousCaller } from "../domain/authorization.js";
import { createMcpServer } from "../mcp/mcp-server.js";
import { mcpEnvironment } from "./mcp-defaults.js";
import { refuseMcp } from "./mcp-refusal.js";
import { startTracing } from "../observability/tracing.js";
import { EngramMetrics } from "../observability/metrics.js";
import { MemoryService } from "../gen/engram/v1/memory_service_pb.js";
import { inProcessCaller } from "../rpc/in-process-call.js";
import { requestInterceptors } from "../rpc/interceptors.js";
import { memoryServiceHandlers } from "../rpc/memory-service-handlers.js";
import { served } from "../rpc/native-grpc.js";
import { stageTimings } from "../observability/stage-timings.js";

/**
 * The `engram` command; one image, six subcommands (the usage below):
 *   engram serve        run the service (the default)
 *   engram evict        forget stale memories once and exit (the CronJob)
 *   engram probe        run the recall probe once and exit (the probe CronJob)
 *   engram reembed      re-embed long-term memory with the configured embedder
 *   engram mcp          a Model Context Protocol server on stdin/stdout (desktop agents)
 *   engram hash-token   the SHA-256 of a token, for the tokens file
 */
const usage = `usage:
  engram serve
  engram evict [--namespace NS [--user USER]] [--dry-run]
  engram probe [--probe-set FILE] [--top-k K]
                            ask the recall probe's labelled queries once; print recall@k and MRR
  engram reembed [--batch-size N] [--checkpoint FILE]
                            re-embed long-term memory with the configured embedder (resumable)
  engram mcp                MCP over stdio, as ENGRAM_MCP_USER_ID in ENGRAM_MCP_NAMESPACE
  engram hash-token TOKEN   print the SHA-256 to put in ENGRAM_AUTH_TOKENS_FILE

Configuration comes from ENGRAM_* environment variables (see docs/configuration.md).`;

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
    config = loadConfig(command === "mcp" ? mcpEnvironment(process.env) : process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      // An agent host shows MCP errors, not stderr.
      if (command === "mcp") await refuseMcp(`invalid configuration: ${error.message}`);
      else process.stderr.write(`engram: invalid configuration: ${error.message}\n`);
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
    case "probe":
      return probe(config, rest);
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
    if (config.longTerm.stageTimings) {
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
    await refuseMcp("invalid configuration: ENGRAM_MCP_USER_ID: is required for engram mcp");
    return 2;
  }
  const logger = createLogger(config.log.level, (line) => process.stderr.write(line));
  captureConsole(logger);
  const tracing = startTracing(config.tracing);
  let opened: Awaited<ReturnType<typeof openEngram>>;
  try {
    opened = await openEngram(config);
  } catch (error) {
    // A store that will not open (or a missing model) would otherwise be a dead pipe to the host.
    // ENGRAM_DATA_DIR held by a running server (or another agent's engram mcp) is a configuration error.
    const configError = error instanceof ConfigError;
    await refuseMcp(
      `${configError ? "invalid configuration" : "could not start"}: ${error instanceof Error ? error.message : String(error)}`,
    );
    await tracing?.shutdown();
    return configError ? 2 : 1;
  }
  const { engram, stores } = opened;
  // This process is the agent's whole Engram: it learns from sessions too.
  await engram.start();
  // The same request pipeline as the server's front doors; its metrics have no port to be read on here.
  const call = inProcessCaller(
    served(MemoryService, memoryServiceHandlers(engram)),
    requestInterceptors(new EngramMetrics(), logger, config.server.maxTimeoutMs),
    { maxTimeoutMs: config.server.maxTimeoutMs, protocolName: "mcp" },
  );
  const server = createMcpServer(call, { caller: anonymousCaller, scope: { namespace: config.mcp.namespace, userId } });
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
