import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { minimumNode, nodeVersionProblem } from "../../src/node-version.js";

describe("the Node version check", () => {
  it.each(["22.13.0", "22.20.1", "23.0.0", "24.21.0", "30.1.2"])("accepts %s", (version) => {
    expect(nodeVersionProblem(version)).toBeUndefined();
  });

  it.each(["22.12.9", "22.0.0", "20.19.2", "18.20.0"])("refuses %s, saying what is needed", (version) => {
    expect(nodeVersionProblem(version)).toMatch(new RegExp(`Node ${version} is too old: Engram needs Node >= 22\\.13`));
  });

  it("says the same as package.json's engines", () => {
    const engines = (JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } }).engines;
    expect(engines.node).toBe(`>=${minimumNode.major}.${minimumNode.minor}`);
  });
});
