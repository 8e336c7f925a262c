import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

/**
 * Every file the generator writes (server and all three clients) is marked
 * linguist-generated, and nothing hand-written is.
 */
function generated(paths: readonly string[]): Map<string, string> {
  const out = execFileSync("git", ["check-attr", "linguist-generated", "--", ...paths], { encoding: "utf8" });
  return new Map(
    out
      .trim()
      .split("\n")
      .map((line) => {
        const [path, , value] = line.split(": ");
        return [path!, value!] as const;
      }),
  );
}

function tracked(dir: string): string[] {
  return execFileSync("git", ["ls-files", "--", dir], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
}

describe(".gitattributes", () => {
  it("marks the generated code of the server and of the TypeScript, Go and Python clients", () => {
    for (const dir of [
      "src/gen",
      "clients/ts/src/gen",
      "clients/go/gen",
      "clients/python/src/engram_memory_client/gen",
    ]) {
      const files = tracked(dir);
      expect(files.length, dir).toBeGreaterThan(0);
      for (const [path, value] of generated(files)) expect(value, path).toBe("true");
    }
  });

  it("leaves hand-written client code unmarked", () => {
    const handWritten = [
      ...tracked("clients/ts/src/index.ts"),
      ...tracked("clients/go/engram.go"),
      ...tracked("clients/python/src/engram_memory_client/client.py"),
      "src/server.ts",
    ];
    for (const [path, value] of generated(handWritten)) expect(value, path).toBe("unspecified");
  });
});
