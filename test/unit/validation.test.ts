import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/domain/errors.js";
import { limits } from "../../src/domain/limits.js";
import {
  requireId,
  requireIntInRange,
  requireMetadata,
  requireScope,
  requireText,
  requireUnitInterval,
} from "../../src/domain/validation.js";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidArgumentError) return error.field;
    throw error;
  }
  return undefined;
}

describe("validation", () => {
  it("names the field of a bad scope", () => {
    expect(fieldOf(() => requireScope(undefined))).toBe("scope");
    expect(fieldOf(() => requireScope({ namespace: "", userId: "u" }))).toBe("scope.namespace");
    expect(fieldOf(() => requireScope({ namespace: "Bad Name", userId: "u" }))).toBe("scope.namespace");
    expect(fieldOf(() => requireScope({ namespace: "app", userId: "" }))).toBe("scope.user_id");
    expect(fieldOf(() => requireScope({ namespace: "app", userId: "has space" }))).toBe("scope.user_id");
    expect(fieldOf(() => requireScope({ namespace: "my-app.v2", userId: "user@example.com" }))).toBeUndefined();
  });

  it("bounds identifiers", () => {
    expect(fieldOf(() => requireId("a".repeat(128), "session_id"))).toBeUndefined();
    expect(fieldOf(() => requireId("a".repeat(129), "session_id"))).toBe("session_id");
    expect(fieldOf(() => requireId("a/b", "task_id"))).toBe("task_id");
  });

  it("measures text in UTF-8 bytes and rejects empty or NUL-bearing text", () => {
    expect(fieldOf(() => requireText("", "content", 10))).toBe("content");
    expect(fieldOf(() => requireText("   ", "content", 10))).toBe("content");
    expect(fieldOf(() => requireText("a\u0000b", "content", 10))).toBe("content");
    expect(fieldOf(() => requireText("é".repeat(5), "content", 10))).toBeUndefined();
    expect(fieldOf(() => requireText("é".repeat(6), "content", 10))).toBe("content");
    expect(
      fieldOf(() => requireText("x".repeat(limits.messageContentBytes + 1), "content", limits.messageContentBytes)),
    ).toBe("content");
  });

  it("bounds metadata", () => {
    const many = Object.fromEntries(Array.from({ length: limits.metadataEntries + 1 }, (_, i) => [`k${i}`, "v"]));
    expect(fieldOf(() => requireMetadata(many, "metadata"))).toBe("metadata");
    expect(fieldOf(() => requireMetadata({ k: "v".repeat(limits.metadataValueBytes + 1) }, "metadata"))).toBe(
      'metadata["k"]',
    );
    expect(fieldOf(() => requireMetadata({ k: "v" }, "metadata"))).toBeUndefined();
  });

  it("refuses '=' in metadata keys, which Weaviate's key=value filter strings could not tell apart", () => {
    expect(fieldOf(() => requireMetadata({ "a=b": "c" }, "metadata"))).toBe('metadata["a=b"]');
    expect(fieldOf(() => requireMetadata({ "=": "c" }, "filter.metadata"))).toBe('filter.metadata["="]');
    expect(() => requireMetadata({ "a=b": "c" }, "metadata")).toThrow(/must not contain '='/);
    // In a value it is unambiguous: the first '=' of "a=b=c" ends the key.
    expect(fieldOf(() => requireMetadata({ a: "b=c" }, "metadata"))).toBeUndefined();
  });

  it("checks numeric ranges", () => {
    expect(fieldOf(() => requireIntInRange(0, "top_k", 1, 100))).toBe("top_k");
    expect(fieldOf(() => requireIntInRange(1.5, "top_k", 1, 100))).toBe("top_k");
    expect(fieldOf(() => requireIntInRange(100, "top_k", 1, 100))).toBeUndefined();
    expect(fieldOf(() => requireUnitInterval(1.01, "importance"))).toBe("importance");
    expect(fieldOf(() => requireUnitInterval(Number.NaN, "importance"))).toBe("importance");
    expect(fieldOf(() => requireUnitInterval(0, "importance"))).toBeUndefined();
  });
});
