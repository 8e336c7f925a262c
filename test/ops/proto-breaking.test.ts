import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

/**
 * scripts/check-breaking.sh against copies of the module: it compares with
 * the committed image of the released contract, so an addition passes, a
 * renumbered field fails, and a missing baseline fails rather than passing.
 */
const run = promisify(execFile);
const scope = join("proto", "engram", "v1", "scope.proto");
const copies: string[] = [];

function copyModule(): string {
  const dir = mkdtempSync(join(tmpdir(), "engram-breaking-"));
  copies.push(dir);
  cpSync("proto", join(dir, "proto"), { recursive: true });
  cpSync("buf.yaml", join(dir, "buf.yaml"));
  return dir;
}

function edit(dir: string, change: (text: string) => string): void {
  const file = join(dir, scope);
  const before = readFileSync(file, "utf8");
  const after = change(before);
  expect(after).not.toBe(before);
  writeFileSync(file, after);
}

async function check(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("bash", ["scripts/check-breaking.sh", dir]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

afterEach(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("buf breaking against the released contract", () => {
  it("passes the contract as it is", async () => {
    expect(await check(copyModule())).toMatchObject({ code: 0 });
  });

  it("passes an added field", async () => {
    const dir = copyModule();
    edit(dir, (t) => t.replace("string user_id = 2;", "string user_id = 2;\n  // Added.\n  string note = 99;"));
    expect(await check(dir)).toMatchObject({ code: 0 });
  });

  it("fails a renumbered field, naming it", async () => {
    const dir = copyModule();
    edit(dir, (t) => t.replace("string user_id = 2;", "string user_id = 3;"));
    const result = await check(dir);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("Scope");
  });

  it("fails a removed field", async () => {
    const dir = copyModule();
    edit(dir, (t) => t.replace("string user_id = 2;", ""));
    expect((await check(dir)).code).not.toBe(0);
  });

  it("fails, saying how to build it, when the baseline is missing", async () => {
    const dir = copyModule();
    rmSync(join(dir, "proto", ".breaking-baseline.binpb"));
    const result = await check(dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain("scripts/update-breaking-baseline.sh");
  });
});
