import { describe, expect, it } from "vitest";
import { findCycle, forbiddenImports, readImportGraph } from "../support/import-graph.js";

/**
 * Imports run one way (docs/architecture.md). Each layer lists what it may
 * import besides itself; everything else is an upward import. The domain and
 * the generated code stand alone; adapters (storage, models) see the domain
 * and, for storage, the leaf spans module; observability sees no RPC; the
 * RPC layer sees no configuration; only the entry points see everything.
 */
const allowed: Record<string, readonly string[]> = {
  gen: [],
  domain: [],
  "node-version": [],
  models: ["domain"],
  storage: ["domain", "observability/spans.ts"],
  config: ["domain", "models", "storage"],
  observability: ["domain", "gen", "config"],
  rpc: ["domain", "gen", "observability"],
  mcp: ["domain", "gen", "observability", "rpc", "config"],
  "engram-factory": ["domain", "models", "storage", "observability", "config"],
  "server-shutdown": ["gen", "observability", "rpc"],
  // The recall probe: domain work on a schedule, with its metrics and its probe-set file.
  probe: ["domain", "observability", "config"],
  server: [
    "domain",
    "gen",
    "models",
    "storage",
    "observability",
    "rpc",
    "mcp",
    "config",
    "engram-factory",
    "server-shutdown",
    "probe",
  ],
  cli: [
    "domain",
    "gen",
    "models",
    "storage",
    "observability",
    "rpc",
    "mcp",
    "config",
    "engram-factory",
    "server",
    "probe",
  ],
  main: ["cli", "node-version"],
};

describe("the import graph of src/", () => {
  const graph = readImportGraph("src");

  it("is read from the sources", () => {
    expect(graph.get("server.ts")).toContain("config.ts");
    expect(graph.get("storage/redis/lua-script.ts")).toContain("observability/spans.ts");
  });

  it("has no cycle", () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it("has no upward import", () => {
    expect(forbiddenImports(graph, allowed)).toEqual([]);
  });
});

describe("the checks themselves", () => {
  it("find a cycle and name its files in order", () => {
    const graph = new Map([
      ["a.ts", ["b/x.ts"]],
      ["b/x.ts", ["b/y.ts"]],
      ["b/y.ts", ["a.ts"]],
    ]);
    expect(findCycle(graph)).toEqual(["a.ts", "b/x.ts", "b/y.ts", "a.ts"]);
    expect(findCycle(new Map([["a.ts", ["b/x.ts"]]]))).toBeUndefined();
  });

  it("report an import outside what a layer may see, and a layer without a rule", () => {
    const graph = new Map([
      ["domain/a.ts", ["rpc/b.ts", "domain/c.ts"]],
      ["storage/s.ts", ["observability/spans.ts", "observability/tracing.ts"]],
      ["newdir/n.ts", []],
    ]);
    expect(forbiddenImports(graph, { domain: [], storage: ["observability/spans.ts"] })).toEqual([
      "domain/a.ts -> rpc/b.ts",
      "storage/s.ts -> observability/tracing.ts",
      'newdir/n.ts: layer "newdir" has no rule',
    ]);
  });
});
