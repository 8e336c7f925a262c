import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../../src/config.js";
import { onnxModelDir } from "./onnx-model.js";
import { createLogger } from "../../src/observability/logger.js";
import { startServer, type RunningServer } from "../../src/server.js";
import type { Stores } from "../../src/domain/ports.js";

export interface TestServer {
  readonly server: RunningServer;
  readonly baseUrl: string;
  readonly address: string;
  readonly config: Config;
  readonly dataDir: string;
  stop(): Promise<void>;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

/**
 * Starts the real server in this process on free ports, with its own data
 * directory (or `dataDir`, to restart on existing data).
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: {
    dataDir?: string;
    openStores?: (config: Config, dimensions: number) => Stores | Promise<Stores>;
    /** Receives every log line (at ENGRAM_LOG_LEVEL); logs are dropped otherwise. */
    log?: (line: string) => void;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "engram-e2e-"));
  const config = loadConfig({
    ENGRAM_PORT: "0",
    ENGRAM_METRICS_PORT: "0",
    ENGRAM_DATA_DIR: dataDir,
    ENGRAM_SHUTDOWN_GRACE_SECONDS: "2",
    ENGRAM_ACCESS_FLUSH_MS: "50",
    ENGRAM_ONNX_MODEL_DIR: onnxModelDir,
    ...env,
  });
  const logger = options.log ? createLogger(config.log.level, options.log) : createLogger("error", () => {});
  const server = await startServer(config, logger, options.openStores ? { openStores: options.openStores } : {});
  const stop = () => server.shutdown();
  return {
    server,
    config,
    dataDir,
    baseUrl: `http://127.0.0.1:${server.port}`,
    address: `127.0.0.1:${server.port}`,
    stop,
    destroy: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
