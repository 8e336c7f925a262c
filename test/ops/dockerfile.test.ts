import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * The Dockerfile cannot be built here (no Docker engine); what can be checked
 * without one is: a pinned base, a non-root runtime user, that what it copies
 * exists, and that its entry point is what the build produces.
 */
const lines = readFileSync("Dockerfile", "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));

describe("Dockerfile", () => {
  it("pins the Node LTS base image to an exact version", () => {
    const base = lines.find((l) => l.startsWith("ARG NODE_IMAGE="))!;
    expect(base).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-[a-z]+-slim$/);
    const stages = lines.filter((l) => l.startsWith("FROM "));
    expect(stages).toEqual([
      "FROM ${PYTHON_IMAGE} AS model",
      "FROM ${NODE_IMAGE} AS build",
      "FROM ${NODE_IMAGE} AS runtime",
    ]);
    expect(lines.find((l) => l.startsWith("ARG PYTHON_IMAGE="))).toMatch(
      /^ARG PYTHON_IMAGE=python:3\.\d+\.\d+-slim-[a-z]+$/,
    );
  });

  it("runs as a non-root user", () => {
    const user = lines.filter((l) => l.startsWith("USER ")).at(-1)!;
    expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
  });

  it("copies only files that exist, and installs production dependencies only in the runtime stage", () => {
    const build = lines.slice(0, lines.indexOf("FROM ${NODE_IMAGE} AS runtime"));
    // The default embedder's model is in the image, where the configuration looks for it.
    expect(lines).toContain("COPY --from=model /model /opt/engram/model");
    expect(lines.join("\n")).toMatch(/ENGRAM_ONNX_MODEL_DIR=\/opt\/engram\/model/);
    for (const copy of build.filter((l) => l.startsWith("COPY ") && !l.includes("--from"))) {
      const sources = copy.split(/\s+/).slice(1, -1);
      for (const source of sources) expect(existsSync(source), source).toBe(true);
    }
    expect(lines).toContain("RUN npm run build && npm prune --omit=dev");
  });

  it("starts the same entry point the build produces, serving by default", () => {
    expect(lines).toContain('ENTRYPOINT ["node", "dist/main.js"]');
    expect(lines).toContain('CMD ["serve"]');
    const build = JSON.parse(readFileSync("tsconfig.build.json", "utf8")) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(build.compilerOptions).toMatchObject({ rootDir: "src", outDir: "dist" });
    expect(existsSync("src/main.ts")).toBe(true);
  });
});
