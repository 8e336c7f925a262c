import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, unreadVariables } from "../../src/config.js";

describe("loadConfig", () => {
  it("has working defaults with nothing set", () => {
    const config = loadConfig({});
    expect(config.server.port).toBe(50051);
    expect(config.store.redis).toBeUndefined();
    expect(config.store.sqlitePath).toBe(".engram-data/engram.db");
  });

  it("learns from idle sessions before their TTL: the idle time defaults below it and must stay below it", () => {
    expect(loadConfig({}).learning.idleSeconds).toBe(1800);
    expect(loadConfig({ ENGRAM_SESSION_TTL_SECONDS: "600" }).learning.idleSeconds).toBe(300);
    expect(() => loadConfig({ ENGRAM_SESSION_TTL_SECONDS: "600", ENGRAM_LEARNING_IDLE_SECONDS: "600" })).toThrow(
      /ENGRAM_LEARNING_IDLE_SECONDS: must be less than ENGRAM_SESSION_TTL_SECONDS/,
    );
  });

  it("embeds with the local ONNX model by default, found in the scripts' cache", () => {
    expect(loadConfig({ HOME: "/home/ana" }).models).toMatchObject({
      provider: "local-onnx",
      onnx: {
        modelDir: "/home/ana/.cache/engram/models/all-minilm-l6-v2-int8",
        batchSize: 32,
        threads: 1,
        loneThreads: 1,
      },
    });
    expect(loadConfig({ ENGRAM_CACHE_DIR: "/cache" }).models.onnx?.modelDir).toBe(
      "/cache/models/all-minilm-l6-v2-int8",
    );
    expect(loadConfig({ ENGRAM_ONNX_MODEL_DIR: "/opt/engram/model" }).models.onnx?.modelDir).toBe("/opt/engram/model");
    expect(loadConfig({ ENGRAM_MODEL_PROVIDER: "local" }).models).toMatchObject({ provider: "local", onnx: undefined });
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
    ["ENGRAM_MODEL_PROVIDER", "onnx"],
    ["ENGRAM_ONNX_THREADS", "0"],
    ["ENGRAM_ONNX_LONE_QUERY_THREADS", "0"],
    ["ENGRAM_ONNX_BATCH_SIZE", "many"],
    ["ENGRAM_EVICTION_SCORE_THRESHOLD", "2"],
    ["ENGRAM_METRICS_ENABLED", "maybe"],
    ["ENGRAM_REDIS_URL", "http://localhost:6379"],
    ["ENGRAM_REDIS_CLUSTER_NODES", "localhost"],
    ["ENGRAM_RERANK_URL", "localhost:8080"],
  ])("rejects %s=%s naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it("ranks offline unless a rerank endpoint is set, and bounds its depth", () => {
    expect(loadConfig({}).ranking).toMatchObject({ hybridAlpha: 0.5, rerank: undefined });
    expect(loadConfig({ ENGRAM_RERANK_URL: "http://127.0.0.1:8080/v1" }).ranking.rerank).toEqual({
      baseUrl: "http://127.0.0.1:8080/v1",
      model: "rerank",
      apiKey: undefined,
      depth: 20,
      timeoutMs: 2000,
    });
    expect(() => loadConfig({ ENGRAM_RERANK_URL: "http://h/v1", ENGRAM_RERANK_DEPTH: "1" })).toThrow(
      /^ENGRAM_RERANK_DEPTH: /,
    );
  });

  it("configures Redis from a URL or a list of cluster nodes, not both", () => {
    expect(loadConfig({ ENGRAM_REDIS_URL: "redis://cache:6379" }).store.redis?.url).toBe("redis://cache:6379");
    expect(loadConfig({ ENGRAM_REDIS_CLUSTER_NODES: "a:7000, b:7001" }).store.redis?.clusterNodes).toEqual([
      "a:7000",
      "b:7001",
    ]);
    expect(() => loadConfig({ ENGRAM_REDIS_URL: "redis://a:1", ENGRAM_REDIS_CLUSTER_NODES: "b:2" })).toThrow(
      /^ENGRAM_REDIS_CLUSTER_NODES: set only one of/,
    );
  });

  it("configures Redis through Sentinel, waiting for one replica per write unless told otherwise", () => {
    const redis = loadConfig({ ENGRAM_REDIS_SENTINELS: "s1:26379,s2:26379", ENGRAM_REDIS_SENTINEL_MASTER: "engram" })
      .store.redis!;
    expect(redis.sentinel).toEqual({
      nodes: ["s1:26379", "s2:26379"],
      masterName: "engram",
      password: undefined,
      sentinelPassword: undefined,
    });
    expect(redis.replicaAcknowledgement).toEqual({ replicas: 1, timeoutMs: 1000 });
    expect(loadConfig({ ENGRAM_REDIS_URL: "redis://a:1" }).store.redis!.replicaAcknowledgement?.replicas).toBe(0);
    expect(() => loadConfig({ ENGRAM_REDIS_SENTINELS: "s1:26379" })).toThrow(/^ENGRAM_REDIS_SENTINEL_MASTER: /);
    expect(() => loadConfig({ ENGRAM_REDIS_SENTINELS: "s1", ENGRAM_REDIS_SENTINEL_MASTER: "m" })).toThrow(
      /^ENGRAM_REDIS_SENTINELS: must be a comma-separated list of host:port/,
    );
    expect(() => loadConfig({ ENGRAM_REDIS_URL: "redis://a:1", ENGRAM_REDIS_SENTINELS: "s:1" })).toThrow(
      /^ENGRAM_REDIS_SENTINELS: set only one of/,
    );
    expect(() => loadConfig({ ENGRAM_REDIS_CLUSTER_NODES: "a:1", ENGRAM_REDIS_WAIT_REPLICAS: "1" })).toThrow(
      /^ENGRAM_REDIS_WAIT_REPLICAS: is supported with ENGRAM_REDIS_URL or ENGRAM_REDIS_SENTINELS/,
    );
  });

  it("rejects a summary target that cannot fit the session limit", () => {
    expect(() => loadConfig({ ENGRAM_SESSION_TOKEN_LIMIT: "500", ENGRAM_SUMMARY_MAX_TOKENS: "500" })).toThrow(
      /ENGRAM_SUMMARY_MAX_TOKENS/,
    );
  });
});

describe("client certificates (mTLS)", () => {
  const dir = mkdtempSync(join(tmpdir(), "engram-config-"));
  const file = (name: string, content = "x") => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const mtls = {
    ENGRAM_TLS_CERT_FILE: file("server.pem"),
    ENGRAM_TLS_KEY_FILE: file("server.key"),
    ENGRAM_TLS_CLIENT_CA_FILE: file("ca.pem"),
  };
  const tokensFile = file(
    "tokens.json",
    JSON.stringify({
      callers: [{ name: "billing", certificateCn: "billing-svc", namespaces: ["billing"], permissions: ["read"] }],
    }),
  );

  it("refuses mTLS with no tokens file unless every certificate holder being an admin is accepted explicitly", () => {
    expect(() => loadConfig(mtls)).toThrow(/^ENGRAM_MTLS_ALLOW_ANY_CN: .*admin of every namespace/);
    expect(loadConfig({ ...mtls, ENGRAM_MTLS_ALLOW_ANY_CN: "true" }).auth.mtlsAllowAnyCn).toBe(true);
    expect(loadConfig({ ...mtls, ENGRAM_AUTH_TOKENS_FILE: tokensFile }).auth.mtlsAllowAnyCn).toBe(false);
  });

  it("refuses ENGRAM_MTLS_ALLOW_ANY_CN where it would mean nothing or contradict the tokens file", () => {
    expect(() => loadConfig({ ENGRAM_MTLS_ALLOW_ANY_CN: "true" })).toThrow(/^ENGRAM_MTLS_ALLOW_ANY_CN: /);
    expect(() =>
      loadConfig({ ...mtls, ENGRAM_AUTH_TOKENS_FILE: tokensFile, ENGRAM_MTLS_ALLOW_ANY_CN: "true" }),
    ).toThrow(/^ENGRAM_MTLS_ALLOW_ANY_CN: /);
  });
});

describe("the tokens file", () => {
  const dir = mkdtempSync(join(tmpdir(), "engram-tokens-"));
  const hash = (c: string) => c.repeat(64);
  const tokensFile = (callers: unknown[]) => {
    const path = join(dir, `tokens-${callers.length}-${Math.random()}.json`);
    writeFileSync(path, JSON.stringify({ callers }));
    return { ENGRAM_AUTH_TOKENS_FILE: path };
  };
  const caller = (name: string, extra: Record<string, unknown>) => ({
    name,
    namespaces: ["chat"],
    permissions: ["read"],
    ...extra,
  });

  it("fails start-up on a token hash listed twice, naming both entries", () => {
    const env = tokensFile([
      caller("a", { tokenSha256: hash("a") }),
      caller("b", { tokenSha256: hash("b") }),
      caller("c", { tokenSha256: hash("a") }),
    ]);
    expect(() => loadConfig(env)).toThrow(
      new RegExp(`^ENGRAM_AUTH_TOKENS_FILE: .*callers\\[2\\]\\.tokenSha256 "${hash("a")}" repeats callers\\[0\\]'s`),
    );
  });

  it("fails start-up on a certificate CN listed twice", () => {
    const env = tokensFile([caller("a", { certificateCn: "svc" }), caller("b", { certificateCn: "svc" })]);
    expect(() => loadConfig(env)).toThrow(/^ENGRAM_AUTH_TOKENS_FILE: .*callers\[1\]\.certificateCn "svc" repeats/);
  });

  it.each([["Chat"], ["chat app"], [""], ["-chat"]])(
    "fails start-up on namespace %j, which no request could name",
    (ns) => {
      const env = tokensFile([caller("a", { tokenSha256: hash("a"), namespaces: ["chat", ns] })]);
      expect(() => loadConfig(env)).toThrow(
        new RegExp(`^ENGRAM_AUTH_TOKENS_FILE: .*callers\\[0\\]\\.namespaces: "${ns}" is not a namespace`),
      );
    },
  );

  it("accepts valid namespaces and the wildcard", () => {
    const env = tokensFile([caller("a", { tokenSha256: hash("a"), namespaces: ["chat", "billing.v2", "*"] })]);
    expect(loadConfig(env).auth.tokens[0]?.namespaces).toEqual(["chat", "billing.v2", "*"]);
  });
});

describe("the metrics listener", () => {
  const tokens = join(mkdtempSync(join(tmpdir(), "engram-metrics-")), "tokens.json");
  writeFileSync(
    tokens,
    JSON.stringify({ callers: [{ name: "a", tokenSha256: "a".repeat(64), namespaces: ["*"], permissions: ["read"] }] }),
  );

  it("stays on loopback when callers must authenticate, unless ENGRAM_METRICS_HOST says otherwise", () => {
    const authenticated = { ENGRAM_HOST: "0.0.0.0", ENGRAM_AUTH_TOKENS_FILE: tokens };
    expect(loadConfig(authenticated).server.metricsHost).toBe("127.0.0.1");
    expect(loadConfig({ ...authenticated, ENGRAM_METRICS_HOST: "0.0.0.0" }).server.metricsHost).toBe("0.0.0.0");
  });

  it("follows ENGRAM_HOST when authentication is off", () => {
    expect(loadConfig({}).server.metricsHost).toBe("127.0.0.1");
    expect(loadConfig({ ENGRAM_HOST: "0.0.0.0", ENGRAM_INSECURE: "true" }).server.metricsHost).toBe("0.0.0.0");
  });
});

describe("unreadVariables", () => {
  it("names ENGRAM_* variables that are set but never read: a typo, or a setting that does not apply", () => {
    expect(
      unreadVariables({
        ENGRAM_REDIS_UR: "redis://redis:6379",
        ENGRAM_OPENAI_API_KEY: "sk-unused-with-the-local-provider",
        ENGRAM_PORT: "50051",
        ENGRAM_CACHE_DIR: "/root/.cache/engram",
        HOME: "/root",
      }),
    ).toEqual(["ENGRAM_OPENAI_API_KEY", "ENGRAM_REDIS_UR"]);
  });

  it("names none for a configuration that reads everything it is given", () => {
    expect(unreadVariables({ ENGRAM_REDIS_URL: "redis://redis:6379", ENGRAM_REDIS_KEY_PREFIX: "e" })).toEqual([]);
  });
});
