import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The environment `engram mcp` reads its configuration from. An agent host
 * starts it in a working directory of its own choosing, so the embedded
 * store's default (`./.engram-data`, relative to that directory) would land
 * anywhere; unless ENGRAM_DATA_DIR says otherwise, `engram mcp` keeps its
 * memory in the cache directory the other defaults use (`mcp` under
 * ENGRAM_CACHE_DIR, else $XDG_CACHE_HOME/engram or ~/.cache/engram).
 */
export function mcpEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.ENGRAM_DATA_DIR !== undefined && env.ENGRAM_DATA_DIR !== "") return env;
  const cacheDir = env.ENGRAM_CACHE_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "engram");
  return { ...env, ENGRAM_DATA_DIR: join(cacheDir, "mcp") };
}
