import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Each client as a newcomer meets it: installed the way its README says
 * (the Python package from its directory, the TypeScript package packed
 * into a tarball and installed into a fresh project, the Go module through
 * a `replace`), then the README's first example run as written against a
 * running server, whose address the examples read from the environment.
 * Package registries are the only network these installs use.
 */
const run = promisify(execFile);
const repo = resolve(".");
let server: TestServer;
let scratch: string;
beforeAll(async () => {
  server = await startTestServer();
  scratch = mkdtempSync(join(tmpdir(), "engram-readme-"));
});
afterAll(async () => {
  await server?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The first fenced block of `language` in a README. */
function firstExample(readme: string, language: string): string {
  const text = readFileSync(join(repo, readme), "utf8");
  const block = new RegExp("```" + language + "\\n([\\s\\S]*?)```").exec(text)?.[1];
  if (block === undefined) throw new Error(`${readme} has no ${language} example`);
  return block;
}

async function sh(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run(command, args, {
      cwd,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return expect.fail(`${command} ${args.join(" ")} failed:\n${stdout ?? ""}\n${stderr ?? ""}`);
  }
}

/** What every first example prints: the stored preference and the session's message. */
function expectTheContext(output: string): void {
  expect(output).toContain("Prefers aisle seats");
  expect(output).toContain("I'm flying to Lisbon on Friday");
}

describe("client READMEs", () => {
  it("Python: pip install ./clients/python gives engram_memory_client (no top-level engram), and the example runs", async () => {
    const python = `${process.env.ENGRAM_PYTHON_VENV}/bin/python`;
    expect(process.env.ENGRAM_PYTHON_VENV, "run through `make test`").toBeTruthy();
    const site = join(scratch, "python-site");
    // The venv already holds grpcio and protobuf (pinned); the package itself is built here,
    // from a copy, so the build leaves nothing in the clone.
    const source = join(scratch, "python-client");
    cpSync(join(repo, "clients/python"), source, {
      recursive: true,
      filter: (path) => !/[/\\](build|tests|__pycache__|[^/\\]*\.egg-info)$/.test(path),
    });
    await sh(
      python,
      ["-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", site, "."],
      source,
    );
    const installed = readdirSync(site);
    expect(installed).toContain("engram_memory_client");
    expect(installed).not.toContain("engram");
    const example = join(scratch, "example.py");
    writeFileSync(example, firstExample("clients/python/README.md", "python"));
    expectTheContext(await sh(python, [example], scratch, { PYTHONPATH: site, ENGRAM_ADDRESS: server.address }));
  });

  it("TypeScript: npm install builds the package, npm pack + install into a fresh project works, and the example runs", async () => {
    const npm = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"];
    const source = join(scratch, "ts-client");
    cpSync(join(repo, "clients/ts"), source, {
      recursive: true,
      filter: (path) => !/[/\\](node_modules|dist|test)$/.test(path),
    });
    await sh("npm", ["install", ...npm], source);
    const tarball = (await sh("npm", ["pack", "--silent", "--pack-destination", scratch], source))
      .trim()
      .split("\n")
      .at(-1)!;
    const app = join(scratch, "ts-app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    await sh("npm", ["install", ...npm, join(scratch, tarball)], app);
    writeFileSync(join(app, "example.mjs"), firstExample("clients/ts/README.md", "ts"));
    expectTheContext(await sh(process.execPath, ["example.mjs"], app, { ENGRAM_URL: server.baseUrl }));
  });

  it("Go: the module through the README's replace, and the example runs as a program", async () => {
    const app = join(scratch, "go-app");
    mkdirSync(app);
    const module = "github.com/engram-memory/engram/clients/go";
    await sh("go", ["mod", "init", "example.com/flights"], app);
    await sh("go", ["mod", "edit", `-require=${module}@v0.0.0`, `-replace=${module}=${join(repo, "clients/go")}`], app);
    writeFileSync(join(app, "main.go"), firstExample("clients/go/README.md", "go"));
    await sh("go", ["mod", "tidy"], app);
    expectTheContext(await sh("go", ["run", "."], app, { ENGRAM_ADDRESS: server.address }));
  });
});
