import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * The Go and Python clients' own test suites (`go test`, `pytest`) and
 * checks (`go vet`, `mypy --strict`), run against an Engram server this
 * file starts. Their output is shown when they fail.
 */
const run = promisify(execFile);
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.destroy());

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
    check("go", ["test", "-count=1", "./..."], "clients/go", { ENGRAM_TEST_ADDR: server.address }));
});

describe("Python client", () => {
  const python = () => `${process.env.ENGRAM_PYTHON_VENV}/bin/python`;
  it("has its environment", () => expect(process.env.ENGRAM_PYTHON_VENV, "run through `make test`").toBeTruthy());
  it("is mypy --strict clean", () => check(python(), ["-m", "mypy", "src/engram_client", "tests"], "clients/python"));
  it("passes pytest (sync and asyncio clients) against the running server", () =>
    check(python(), ["-m", "pytest", "-q", "tests"], "clients/python", { ENGRAM_TEST_ADDR: server.address }));
});
