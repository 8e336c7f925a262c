import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storesWithLostReplies } from "../support/lost-replies.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * The Go and Python clients' own test suites (`go test`, `pytest`) and
 * checks (`go vet`, `mypy --strict`), run against an Engram server this
 * file starts. Their output is shown when they fail.
 */
const run = promisify(execFile);
let server: TestServer;
// Loses the reply of the first append to each "lost-reply…" session (test/support/lost-replies.ts).
let lossy: TestServer;
beforeAll(async () => {
  [server, lossy] = await Promise.all([startTestServer(), startTestServer({}, { openStores: storesWithLostReplies })]);
});
afterAll(async () => {
  await server?.destroy();
  await lossy?.destroy();
});
const servers = () => ({ ENGRAM_TEST_ADDR: server.address, ENGRAM_TEST_LOST_REPLY_ADDR: lossy.address });

async function check(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<void> {
  try {
    await run(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    expect.fail(`${command} ${args.join(" ")} failed:\n${stdout ?? ""}\n${stderr ?? ""}`);
  }
}

describe("Go client", () => {
  it("is go vet clean", () => check("go", ["vet", "./..."], "clients/go"));
  it("passes go test against the running server", () =>
    check("go", ["test", "-count=1", "./..."], "clients/go", servers()));
});

describe("Python client", () => {
  const python = () => `${process.env.ENGRAM_PYTHON_VENV}/bin/python`;
  it("has its environment", () => expect(process.env.ENGRAM_PYTHON_VENV, "run through `make test`").toBeTruthy());
  it("is mypy --strict clean", () =>
    check(python(), ["-m", "mypy", "src/engram_memory_client", "tests"], "clients/python"));
  it("passes pytest (sync and asyncio clients) against the running server", () =>
    check(python(), ["-m", "pytest", "-q", "tests"], "clients/python", servers()));
});
