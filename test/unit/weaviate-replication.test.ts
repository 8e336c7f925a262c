import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { UnavailableError } from "../../src/domain/errors.js";
import { translateWeaviateErrors } from "../../src/storage/weaviate/weaviate-errors.js";
import {
  replicationConfig,
  replicationMismatch,
  type WeaviateReplication,
} from "../../src/storage/weaviate/weaviate-replication.js";

const weaviate = { ENGRAM_WEAVIATE_URL: "http://weaviate:8080" };

describe("Weaviate replication settings", () => {
  it("default to one replica at QUORUM, and read every setting", () => {
    expect(loadConfig(weaviate).store.weaviate?.replication).toEqual({
      factor: 1,
      consistency: "QUORUM",
      asyncRepair: true,
    });
    expect(
      loadConfig({
        ...weaviate,
        ENGRAM_WEAVIATE_REPLICATION_FACTOR: "3",
        ENGRAM_WEAVIATE_CONSISTENCY_LEVEL: "ALL",
        ENGRAM_WEAVIATE_ASYNC_REPAIR: "false",
      }).store.weaviate?.replication,
    ).toEqual({ factor: 3, consistency: "ALL", asyncRepair: false });
  });

  it.each([
    ["ENGRAM_WEAVIATE_REPLICATION_FACTOR", "0"],
    ["ENGRAM_WEAVIATE_REPLICATION_FACTOR", "three"],
    ["ENGRAM_WEAVIATE_CONSISTENCY_LEVEL", "quorum"],
    ["ENGRAM_WEAVIATE_CONSISTENCY_LEVEL", "TWO"],
    ["ENGRAM_WEAVIATE_ASYNC_REPAIR", "sometimes"],
  ])("rejects %s=%s naming the variable", (name, value) => {
    expect(() => loadConfig({ ...weaviate, [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...weaviate, [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it("creates replicated collections with async repair and deletes that win; one replica has no repair to run", () => {
    const three: WeaviateReplication = { factor: 3, consistency: "QUORUM", asyncRepair: true };
    expect(replicationConfig(three)).toEqual({ factor: 3, asyncEnabled: true, deletionStrategy: "DeleteOnConflict" });
    expect(replicationConfig({ ...three, asyncRepair: false }).asyncEnabled).toBe(false);
    expect(replicationConfig({ ...three, factor: 1 })).toEqual({
      factor: 1,
      asyncEnabled: false,
      deletionStrategy: "DeleteOnConflict",
    });
  });

  it("names both factors when an existing collection is replicated differently", () => {
    const three: WeaviateReplication = { factor: 3, consistency: "QUORUM", asyncRepair: true };
    expect(replicationMismatch("EngramMemory", { factor: 3 }, three)).toBeUndefined();
    expect(replicationMismatch("EngramMemory", { factor: 1 }, three)).toMatch(
      /"EngramMemory" has replication factor 1, ENGRAM_WEAVIATE_REPLICATION_FACTOR is 3/,
    );
  });
});

describe("a call that finds too few replicas", () => {
  it.each([
    'search: cannot achieve consistency level "QUORUM": cannot reach enough replicas',
    "/weaviate.v1.Weaviate/BatchObjects UNKNOWN: commit: cannot reach enough replicas",
  ])("is UNAVAILABLE (retryable): %s", async (message) => {
    const failed = translateWeaviateErrors(() => Promise.reject(new Error(message)));
    await expect(failed).rejects.toBeInstanceOf(UnavailableError);
  });

  it("leaves other failures alone", async () => {
    const failed = translateWeaviateErrors(() => Promise.reject(new Error("invalid property name")));
    await expect(failed).rejects.not.toBeInstanceOf(UnavailableError);
  });
});
