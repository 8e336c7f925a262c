import { describe, expect, it } from "vitest";
import { bm25Defect } from "../../src/storage/weaviate/weaviate-version.js";

describe("bm25Defect", () => {
  it("names the versions whose BlockMax WAND leaves matches out, and the releases that fixed it", () => {
    for (const version of ["1.30.0", "1.35.2", "1.35.23", "1.36.23", "1.37.0", "1.37.11", "1.38.0", "1.38.2"]) {
      expect(bm25Defect(version), version).toMatch(
        new RegExp(`^Weaviate ${version.replace(/\./g, "\\.")} .*fixed in 1\\.37\\.12 and 1\\.38\\.3`),
      );
    }
  });

  it("passes the fixed patches of each line, later lines, and versions before BlockMax WAND was the default", () => {
    for (const version of ["1.37.12", "1.37.14", "1.38.3", "1.38.11", "1.39.0", "2.0.0", "1.29.9", "1.24.0"]) {
      expect(bm25Defect(version), version).toBeUndefined();
    }
  });

  it("reads a leading v, a missing patch and a pre-release suffix, and stays quiet on a version it cannot read", () => {
    expect(bm25Defect("v1.35.2")).toBeDefined();
    expect(bm25Defect("1.36")).toBeDefined();
    expect(bm25Defect("1.39.0-rc.1")).toBeUndefined();
    expect(bm25Defect("1.37.11-abc123")).toBeDefined();
    expect(bm25Defect("")).toBeUndefined();
    expect(bm25Defect("unknown")).toBeUndefined();
  });
});
