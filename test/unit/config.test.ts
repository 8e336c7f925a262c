import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("has working defaults with nothing set", () => {
    const config = loadConfig({});
    expect(config.server.port).toBe(50051);
    expect(config.store.kind).toBe("embedded");
    expect(config.store.sqlitePath).toBe(".engram-data/engram.db");
  });

  it("reads and types variables", () => {
    const config = loadConfig({ ENGRAM_PORT: "7000", ENGRAM_DATA_DIR: "/var/lib/engram", ENGRAM_METRICS_ENABLED: "false" });
    expect(config.server.port).toBe(7000);
    expect(config.store.sqlitePath).toBe("/var/lib/engram/engram.db");
    expect(config.server.metricsPort).toBeUndefined();
  });

  it.each([
    ["ENGRAM_PORT", "seventy"],
    ["ENGRAM_PORT", "70000"],
    ["ENGRAM_LOG_LEVEL", "loud"],
    ["ENGRAM_EVICTION_SCORE_THRESHOLD", "2"],
    ["ENGRAM_METRICS_ENABLED", "maybe"],
    ["ENGRAM_STORE", "cassandra"],
  ])("rejects %s=%s naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it("rejects a summary target that cannot fit the session limit", () => {
    expect(() => loadConfig({ ENGRAM_SESSION_TOKEN_LIMIT: "500", ENGRAM_SUMMARY_MAX_TOKENS: "500" })).toThrow(
      /ENGRAM_SUMMARY_MAX_TOKENS/,
    );
  });
});
