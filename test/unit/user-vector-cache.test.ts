import { describe, expect, it } from "vitest";
import { UserVectorCache } from "../../src/storage/embedded/user-vector-cache.js";

const vectors = (n: number) => ({
  ids: Array.from({ length: n }, (_, i) => `m${i}`),
  types: Array.from({ length: n }, () => "semantic" as const),
  superseded: Array.from({ length: n }, () => false),
  speakers: Array.from({ length: n }, () => ""),
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

describe("UserVectorCache writes", () => {
  const row = (id: string, values: number[], superseded = false) => ({
    id,
    type: "semantic" as const,
    superseded,
    speaker: "",
    embedding: Float32Array.from(values),
  });

  it("appends new rows to a cached user, growing the matrix, and replaces existing rows in place", () => {
    const cache = new UserVectorCache(100);
    cache.set("a", {
      ids: ["m0"],
      types: ["semantic"],
      superseded: [false],
      speakers: [""],
      matrix: Float32Array.from([1, 1]),
    });
    for (let i = 1; i <= 20; i++) cache.upsert("a", row(`m${i}`, [i, -i]), 2);
    cache.upsert("a", row("m0", [7, 7], true), 2);
    const user = cache.get("a")!;
    expect(user.ids).toHaveLength(21);
    expect(user.matrix.length).toBeGreaterThanOrEqual(21 * 2);
    expect(Array.from(user.matrix.subarray(0, 2))).toEqual([7, 7]);
    expect(user.superseded[0]).toBe(true);
    expect(Array.from(user.matrix.subarray(20 * 2, 21 * 2))).toEqual([20, -20]);
  });

  it("ignores users it does not hold, and lets go of a user rather than exceed its budget", () => {
    const cache = new UserVectorCache(3);
    cache.upsert("absent", row("m", [1, 1]), 2);
    expect(cache.get("absent")).toBeUndefined();
    cache.set("a", vectors(3));
    cache.upsert("a", row("extra", [1, 1, 1, 1]), 4);
    expect(cache.get("a")).toBeUndefined();
  });
});
