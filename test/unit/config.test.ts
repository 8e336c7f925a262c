import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("has working defaults with nothing set", () => {
    const config = loadConfig({});
    expect(config.server.port).toBe(50051);
    expect(config.store.redis).toBeUndefined();
    expect(config.store.sqlitePath).toBe(".engram-data/engram.db");
  });

  it("reads and types variables", () => {
    const config = loadConfig({
      ENGRAM_PORT: "7000",
      ENGRAM_DATA_DIR: "/var/lib/engram",
      ENGRAM_METRICS_ENABLED: "false",
    });
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
    ["ENGRAM_REDIS_URL", "http://localhost:6379"],
    ["ENGRAM_REDIS_CLUSTER_NODES", "localhost"],
  ])("rejects %s=%s naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it("configures Redis from a URL or a list of cluster nodes, not both", () => {
    expect(loadConfig({ ENGRAM_REDIS_URL: "redis://cache:6379" }).store.redis?.url).toBe("redis://cache:6379");
    expect(loadConfig({ ENGRAM_REDIS_CLUSTER_NODES: "a:7000, b:7001" }).store.redis?.clusterNodes).toEqual([
      "a:7000",
      "b:7001",
    ]);
    expect(() => loadConfig({ ENGRAM_REDIS_URL: "redis://a:1", ENGRAM_REDIS_CLUSTER_NODES: "b:2" })).toThrow(
      /not both/,
    );
  });

  it("rejects a summary target that cannot fit the session limit", () => {
    expect(() => loadConfig({ ENGRAM_SESSION_TOKEN_LIMIT: "500", ENGRAM_SUMMARY_MAX_TOKENS: "500" })).toThrow(
      /ENGRAM_SUMMARY_MAX_TOKENS/,
    );
  });
});
