#!/usr/bin/env node
import { nodeVersionProblem } from "./node-version.js";

/**
 * The `engram` command's entry point: checks the Node version before
 * loading anything else, since an older Node fails on node:sqlite's import
 * with an error that does not say what to do. `engram mcp` is started by an
 * agent host that shows only MCP errors, so there the refusal is one.
 */
const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  if (process.argv[2] === "mcp") {
    const { refuseMcp } = await import("./cli/mcp-refusal.js");
    await refuseMcp(problem);
  } else {
    process.stderr.write(`engram: ${problem}\n`);
  }
  process.exit(2);
}
await import("./cli/engram.js");
