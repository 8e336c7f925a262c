import { describe, expect, it } from "vitest";
import { UserVectorCache } from "../../src/storage/embedded/user-vector-cache.js";

const vectors = (n: number) => ({
  ids: Array.from({ length: n }, (_, i) => `m${i}`),
  types: Array.from({ length: n }, () => "semantic" as const),
  superseded: Array.from({ length: n }, () => false),
  matrix: new Float32Array(n * 4),
});

describe("UserVectorCache", () => {
  it("evicts the least recently used users past its vector budget", () => {
    const cache = new UserVectorCache(10);
    cache.set("a", vectors(4));
    cache.set("b", vectors(4));
    cache.get("a");
    cache.set("c", vectors(4));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
  });

  it("does not hold a user larger than the whole budget", () => {
    const cache = new UserVectorCache(10);
    cache.set("huge", vectors(11));
    expect(cache.get("huge")).toBeUndefined();
  });

  it("clears when another connection changed the database", () => {
    const cache = new UserVectorCache(10);
    cache.checkDataVersion(1);
    cache.set("a", vectors(2));
    cache.checkDataVersion(1);
    expect(cache.get("a")).toBeDefined();
    cache.checkDataVersion(2);
    expect(cache.get("a")).toBeUndefined();
  });
});
