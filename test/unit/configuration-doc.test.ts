import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, unreadVariables } from "../../src/config.js";

/**
 * The documentation is checked against the code, so that it stays true:
 * docs/configuration.md against the variables src/config.ts reads, and every
 * page's relative links against the files they point at.
 */
const root = resolve(import.meta.dirname, "../..");
const docsDir = join(root, "docs");
const read = (path: string) => readFileSync(path, "utf8");

/**
 * Every name the configuration asks for, recorded by loading it from an
 * environment that notes each look-up. Some variables are read only when
 * another turns their feature on (the OpenAI settings with the openai
 * provider, Sentinel's with ENGRAM_REDIS_SENTINELS, Weaviate's, the
 * reranker's), so the configuration is loaded twice: with nothing set, and
 * with every such feature on.
 */
function variablesTheConfigReads(): Set<string> {
  const names = new Set<string>();
  const everyFeatureOn: Record<string, string> = {
    ENGRAM_MODEL_PROVIDER: "openai",
    ENGRAM_OPENAI_BASE_URL: "http://127.0.0.1:1/v1",
    ENGRAM_REDIS_SENTINELS: "127.0.0.1:26379",
    ENGRAM_REDIS_SENTINEL_MASTER: "engram",
    ENGRAM_WEAVIATE_URL: "http://127.0.0.1:8080",
    ENGRAM_RERANK_URL: "http://127.0.0.1:1",
  };
  for (const values of [{}, everyFeatureOn]) {
    const env = new Proxy(values as Record<string, string | undefined>, {
      get(target, name) {
        if (typeof name === "string") names.add(name);
        return typeof name === "string" ? target[name] : undefined;
      },
    });
    loadConfig(env);
  }
  return names;
}

/** Lines of the page's tables: where a variable is documented with its default and meaning. */
function tableText(markdown: string): string {
  return markdown
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .join("\n");
}

const mentions = (text: string, name: string) => new RegExp(`(?<![A-Z0-9_])${name}(?![A-Z0-9_])`).test(text);

describe("docs/configuration.md", () => {
  const page = read(join(docsDir, "configuration.md"));
  const readNames = variablesTheConfigReads();

  it("records what the configuration reads (the check below is not vacuous)", () => {
    expect(readNames.has("ENGRAM_PORT")).toBe(true);
    expect(readNames.has("ENGRAM_OPENAI_CHAT_MODEL")).toBe(true);
    expect(readNames.has("ENGRAM_REDIS_SENTINEL_PASSWORD")).toBe(true);
    expect(readNames.size).toBeGreaterThan(100);
  });

  it("documents, in a table, every variable src/config.ts reads", () => {
    const tables = tableText(page);
    const undocumented = [...readNames].filter((name) => !mentions(tables, name)).sort();
    expect(
      undocumented.join(", "),
      "variables src/config.ts reads that docs/configuration.md's tables do not mention",
    ).toBe("");
  });

  it("mentions no ENGRAM_* variable the configuration no longer reads (scripts' own variables aside)", () => {
    const named = new Set(page.match(/ENGRAM_[A-Z0-9_]*[A-Z0-9]/g) ?? []);
    // unreadVariables leaves out the tooling variables config.ts lists, and names nothing the default configuration reads.
    const stale = [...named].filter((name) => !readNames.has(name) && unreadVariables({ [name]: "" }).length > 0);
    expect(stale.sort().join(", "), "ENGRAM_* names in docs/configuration.md that src/config.ts does not read").toBe(
      "",
    );
  });
});

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return entry.endsWith(".md") ? [path] : [];
  });
}

/** Relative link targets of a page: inline links and images, without their #fragment; code spans and blocks left out. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("#"))
    .map((target) => decodeURIComponent(target.split("#")[0]!));
}

describe("README.md", () => {
  it("stays short: a newcomer's page, with the rest in docs/", () => {
    expect(read(join(root, "README.md")).split("\n").length).toBeLessThan(300);
  });
});

describe("links", () => {
  it("docs/README.md links every page in docs/", () => {
    const index = relativeLinks(read(join(docsDir, "README.md"))).map((target) => resolve(docsDir, target));
    const unlinked = readdirSync(docsDir)
      .filter((entry) => entry.endsWith(".md") && entry !== "README.md")
      .filter((entry) => !index.includes(join(docsDir, entry)));
    expect(unlinked.join(", "), "pages in docs/ that docs/README.md does not link").toBe("");
  });

  it("every relative link in README.md and docs/ points at a file that exists", () => {
    const pages = [join(root, "README.md"), ...markdownFiles(docsDir)];
    const broken = pages.flatMap((page) =>
      relativeLinks(read(page))
        .filter((target) => !existsSync(resolve(dirname(page), target)))
        .map((target) => `${relative(root, page)} -> ${target}`),
    );
    expect(pages.length).toBeGreaterThan(10);
    expect(broken.join(", "), "relative links to files that do not exist").toBe("");
  });
});
