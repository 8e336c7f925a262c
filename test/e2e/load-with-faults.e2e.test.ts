import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runLoad } from "../../bench/load.js";

/**
 * A short run of `npm run load`: mixed traffic on Redis + Weaviate while
 * Redis is killed and restarted, then Weaviate. Nothing acknowledged may be
 * lost and the only errors are UNAVAILABLE (or a caller's own deadline).
 */
describe("load with faults (short)", () => {
  it("loses nothing acknowledged and fails only with UNAVAILABLE", async () => {
    expect(existsSync("dist/main.js"), "run `npm run build` first (make test does)").toBe(true);
    const report = await runLoad({ clients: 4, seconds: 12 });
    expect(report.acknowledgedMessages).toBeGreaterThan(20);
    expect(report.acknowledgedMemories).toBeGreaterThan(10);
    expect(report.lostMessages).toBe(0);
    expect(report.lostMemories).toBe(0);
    expect(Object.keys(report.errors).filter((code) => code !== "Unavailable" && code !== "DeadlineExceeded")).toEqual(
      [],
    );
    expect(report.maxRssMiB).toBeLessThan(1024);
  }, 180_000);
});
