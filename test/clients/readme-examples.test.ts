import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onnxModelDir } from "../support/onnx-model.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * The README's "From your application" and "From an agent" sections, run as
 * a newcomer runs them: each language's commands exactly as written, by
 * bash, in a fresh directory outside the clone (with ENGRAM_REPO pointing at
 * this checkout, as the README asks), its program saved under the name the
 * README gives, then run against a live server; the output must be the
 * README's, line for line. Each client's own README repeats its section, and
 * must do so verbatim. The MCP configuration is started by the MCP SDK's
 * client exactly as a host would start it. Nothing may be written into the
 * clone. Package registries are the only network used, and their caches
 * (npm's, pip's, Go's module cache) live outside the clone.
 */
const run = promisify(execFile);
const repo = resolve(".");
const readme = readFileSync(join(repo, "README.md"), "utf8");
let scratch: string;
let cloneBefore: string;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "engram-readme-"));
  cloneBefore = await cloneState();
});
afterAll(async () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** What git sees in the clone, ignored files included (build outputs the suite itself makes aside). */
async function cloneState(): Promise<string> {
  const { stdout } = await run("git", ["status", "--porcelain", "--ignored", "--untracked-files=all", "clients"], {
    cwd: repo,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split("\n")
    .filter((l) => !/(\.mypy_cache|\.pytest_cache|__pycache__|clients\/ts\/node_modules)/.test(l))
    .join("\n");
}

/** The text under a heading, up to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const level = /^#+/.exec(heading)![0].length;
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}"`);
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level}} `));
  return end < 0 ? rest : rest.slice(0, end);
}

interface Block {
  readonly language: string;
  readonly code: string;
  /** The file a program block is saved as: the `name` in the line before it ("`example.ts`:"). */
  readonly file?: string;
}

function blocks(text: string): Block[] {
  return [...text.matchAll(/(?:`([^`\n]+)`:\n\n)?```(\w*)\n([\s\S]*?)```/g)].map((m) => ({
    file: m[1],
    language: m[2]!,
    code: m[3]!,
  }));
}

async function bash(script: string, cwd: string, env: Record<string, string>): Promise<string> {
  try {
    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], {
      cwd,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return expect.fail(`in ${cwd}:\n${script}\nfailed:\n${stdout ?? ""}\n${stderr ?? ""}`);
  }
}

/**
 * Environment only (the commands stay as written): npm answers from its cache
 * where it can instead of asking the registry about every package again.
 */
const caches = { npm_config_prefer_offline: "true", PIP_DISABLE_PIP_VERSION_CHECK: "1" };

/**
 * Runs one language's section: shell blocks in order, program blocks saved
 * as named, and each `text` block compared with the output of the shell
 * block before it. Returns how many of each it ran, so a section that lost
 * its blocks fails.
 */
async function runSection(heading: string, env: Record<string, string>): Promise<Block[]> {
  const app = mkdtempSync(join(scratch, "app-"));
  const all = blocks(section(readme, heading));
  let output: string | undefined;
  for (const block of all) {
    if (block.language === "sh") output = await bash(block.code, app, { ENGRAM_REPO: repo, ...caches, ...env });
    else if (block.language === "text") expect(output, `${heading}: the output shown`).toBe(block.code);
    else {
      expect(block.file, `${heading}: a ${block.language} block names its file`).toBeTruthy();
      writeFileSync(join(app, block.file!), block.code);
    }
  }
  return all;
}

/** The client's own README repeats the main README's section verbatim (install, program, run, output). */
function expectClientReadmeRepeats(heading: string, clientReadme: string): void {
  const own = readFileSync(join(repo, clientReadme), "utf8");
  for (const block of blocks(section(readme, heading))) {
    expect(own, `${clientReadme} repeats the README's ${block.language} block`).toContain(
      "```" + block.language + "\n" + block.code + "```",
    );
  }
}

describe.concurrent("README: from your application, run literally in a fresh directory", () => {
  // One server per language: each program writes the same user and session.
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.destroy()));
  });
  const server = async () => {
    const started = await startTestServer();
    servers.push(started);
    return started;
  };

  it("TypeScript: npm init, npm install of the packed client, node example.ts", async () => {
    const s = await server();
    const ran = await runSection("### TypeScript (Node 22.18+)", { ENGRAM_URL: s.baseUrl });
    expect(ran.map((b) => b.language)).toEqual(["sh", "ts", "sh", "text"]);
    expectClientReadmeRepeats("### TypeScript (Node 22.18+)", "clients/ts/README.md");
  });

  it("Go: go mod init, the replace, go mod tidy after main.go exists, go run", async () => {
    const s = await server();
    const ran = await runSection("### Go (1.26+)", { ENGRAM_ADDRESS: s.address });
    expect(ran.map((b) => b.language)).toEqual(["sh", "go", "sh", "text"]);
    expectClientReadmeRepeats("### Go (1.26+)", "clients/go/README.md");
  });

  it("Python: a venv, pip install of the client's path, python example.py", async () => {
    const s = await server();
    const ran = await runSection("### Python (3.10+)", { ENGRAM_ADDRESS: s.address });
    expect(ran.map((b) => b.language)).toEqual(["sh", "python", "sh", "text"]);
    expectClientReadmeRepeats("### Python (3.10+)", "clients/python/README.md");
  });
});

describe("README: from an agent, the MCP configuration started by the MCP SDK's client", () => {
  it("installs the server as the README says, and the host configuration serves the tools through npx", async () => {
    expect(existsSync(join(repo, "dist", "main.js")), "`make start` (or `npm run build`) builds dist/ first").toBe(
      true,
    );
    const agent = section(readme, "## From an agent: MCP");
    const [config, install] = blocks(agent);
    expect(config?.language).toBe("json");
    expect(install?.language).toBe("sh");
    const home = mkdtempSync(join(scratch, "home-"));
    const prefix = join(home, ".npm-global");
    mkdirSync(prefix);
    // npm's global prefix in this home, so the install touches nothing of the machine's.
    const npmEnv = { npm_config_prefix: prefix, npm_config_cache: join(process.env.HOME ?? home, ".npm") };
    await bash(install!.code, home, { ENGRAM_REPO: repo, ...npmEnv });

    const server = (JSON.parse(config!.code) as { mcpServers: { engram: { command: string; args: string[] } } })
      .mcpServers.engram as { command: string; args: string[]; env: Record<string, string> };
    const client = new Client({ name: "readme-host", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: server.command,
        args: server.args,
        cwd: home,
        env: {
          ...server.env,
          PATH: process.env.PATH ?? "",
          HOME: home,
          ...npmEnv,
          // Offline: npx must find the installed package, not fetch one.
          npm_config_offline: "true",
          // The model the default embedder needs (installed once by scripts/fetch-embedding-model.sh).
          ENGRAM_ONNX_MODEL_DIR: onnxModelDir,
        },
        stderr: "ignore",
      }),
    );
    try {
      const remembered = (await client.callTool({
        name: "remember",
        arguments: { content: "I prefer aisle seats on long flights", type: "preference" },
      })) as CallToolResult;
      expect(remembered.isError, JSON.stringify(remembered.content)).toBeFalsy();
      expect(remembered.structuredContent).toMatchObject({ outcome: "REMEMBER_OUTCOME_CREATED" });
      const recalled = (await client.callTool({ name: "recall", arguments: { query: "seat" } })) as CallToolResult;
      expect(
        (recalled.structuredContent as { memories: { memory: { content: string } }[] }).memories[0]?.memory,
      ).toMatchObject({
        content: "I prefer aisle seats on long flights",
      });
    } finally {
      await client.close();
    }
    // The memory is where the README says, in the home directory's cache.
    expect(existsSync(join(home, ".cache", "engram", "mcp"))).toBe(true);
  });
});

describe("the clone", () => {
  it("is left as it was: every build happened in a temporary directory", async () => {
    expect(await cloneState()).toBe(cloneBefore);
  });
});
