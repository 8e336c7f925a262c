import { afterEach, describe, expect, it } from "vitest";
import { captureConsole, createLogger } from "../../src/observability/logger.js";

describe("captureConsole", () => {
  let restore = () => {};
  afterEach(() => restore());

  it("turns what libraries print into one JSON log line each, at a matching level", () => {
    const lines: string[] = [];
    restore = captureConsole(createLogger("debug", (line) => lines.push(line)));
    const error = Object.assign(new Error("Connection dropped\nsecond line"), { code: 14 });
    console.warn(error, "Attempt 0 failed. Retrying in 919ms.");
    console.log("plain %s", "text");
    restore();
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.endsWith("\n") && !line.slice(0, -1).includes("\n")).toBe(true);
    const [warn, log] = lines.map((line) => JSON.parse(line) as Record<string, string>);
    expect(warn).toMatchObject({ level: "warn", msg: "library output", source: "console" });
    expect(warn!.detail).toContain("Connection dropped");
    expect(warn!.detail).toContain("Retrying in 919ms");
    expect(log).toMatchObject({ level: "info", detail: "plain text" });
  });

  it("logs the first of many lines alike, not every one", () => {
    const lines: string[] = [];
    restore = captureConsole(createLogger("debug", (line) => lines.push(line)));
    for (let i = 0; i < 100; i++) {
      console.error("handler for rpc ExportUser of engram.v1.MemoryService failed", new Error("write ECANCELED"));
    }
    console.error("something else");
    restore();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain("handler for rpc ExportUser");
    expect(lines[1]).toContain("something else");
  });

  it("logs a response the caller went away from as info, and a handler's own failure as error", () => {
    const lines: string[] = [];
    restore = captureConsole(createLogger("debug", (line) => lines.push(line)));
    const cancelled = Object.assign(new Error("write ECANCELED"), { code: "ECANCELED" });
    console.error(
      "handler for rpc ExportUser of engram.v1.MemoryService failed",
      new Error("[internal] write ECANCELED", { cause: cancelled }),
    );
    console.error("handler for rpc Recall of engram.v1.MemoryService failed", new TypeError("x is undefined"));
    console.error("unrelated", cancelled);
    restore();
    expect(lines.map((line) => (JSON.parse(line) as { level: string }).level)).toEqual(["info", "error", "error"]);
  });

  it("respects the log level and puts the console back", () => {
    const lines: string[] = [];
    const original = console.info;
    restore = captureConsole(createLogger("warn", (line) => lines.push(line)));
    console.info("chatty");
    restore();
    expect(lines).toEqual([]);
    expect(console.info).toBe(original);
  });
});
