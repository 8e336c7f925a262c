import { describe, expect, it } from "vitest";
import { compileDotProducts, dotProductModuleBytes } from "../../src/storage/embedded/simd-dot-products.js";
import { UserVectorCache } from "../../src/storage/embedded/user-vector-cache.js";
import {
  allocateMatrix,
  dotProducts,
  growMatrix,
  minimumSimdRows,
  scalarDotProducts,
  scannedWithSimd,
  simdScan,
} from "../../src/storage/embedded/vector-matrix.js";

/** A deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Unit-length vectors of `dims` floats, as the embedders give. */
function unitVectors(count: number, dims: number, next: () => number): Float32Array[] {
  return Array.from({ length: count }, () => {
    const v = Float32Array.from({ length: dims }, () => next() * 2 - 1);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

function fill(matrix: Float32Array, rows: Float32Array[], dims: number): void {
  rows.forEach((row, i) => matrix.set(row, i * dims));
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual).toHaveLength(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThan(1e-5);
}

describe("SIMD dot products", () => {
  it("is accepted by this engine (Node 24 has WebAssembly SIMD), so the store scans with it", () => {
    expect(compileDotProducts()).toBeDefined();
    expect(simdScan).not.toBeNull();
  });

  for (const dims of [384, 1536, 5, 7, 1, 2, 3]) {
    it(`gives the scalar loop's scores within 1e-5 for ${dims} dimensions`, () => {
      const next = random(dims);
      const rows = minimumSimdRows + 3;
      const vectors = unitVectors(rows, dims, next);
      const matrix = allocateMatrix(rows, dims);
      expect(scannedWithSimd(matrix)).toBe(true);
      fill(matrix, vectors, dims);
      for (const query of unitVectors(3, dims, next)) {
        const expected = scalarDotProducts(matrix, rows, dims, query);
        expectClose(dotProducts(matrix, rows, dims, query), expected);
        // Fewer rows than the matrix holds: only those are scored.
        expectClose(dotProducts(matrix, 17, dims, query), expected.subarray(0, 17));
      }
    });
  }

  it("scores rows appended after the matrix grew in place, and keeps the rows it had", () => {
    const dims = 384;
    const next = random(1);
    const vectors = unitVectors(minimumSimdRows * 5, dims, next);
    let matrix = allocateMatrix(minimumSimdRows, dims);
    fill(matrix, vectors.slice(0, minimumSimdRows), dims);
    const memory = matrix.buffer;
    for (let rows = minimumSimdRows; rows < vectors.length; rows++) {
      if ((rows + 1) * dims > matrix.length) matrix = growMatrix(matrix, rows * 2, dims, rows * dims);
      matrix.set(vectors[rows]!, rows * dims);
    }
    expect(scannedWithSimd(matrix)).toBe(true);
    expect(memory.byteLength).toBe(0); // the first view's buffer was detached by the growth
    const query = unitVectors(1, dims, next)[0]!;
    const reference = new Float32Array(vectors.length * dims);
    fill(reference, vectors, dims);
    expectClose(
      dotProducts(matrix, vectors.length, dims, query),
      scalarDotProducts(reference, vectors.length, dims, query),
    );
  });

  it("falls back to the scalar loop where the engine rejects the module, or for small users", () => {
    const bytes = dotProductModuleBytes();
    bytes[bytes.length - 3] = 0xff; // an unknown instruction: a module the engine rejects
    expect(compileDotProducts(bytes)).toBeUndefined();
    const dims = 5;
    const next = random(9);
    const rows = minimumSimdRows;
    const vectors = unitVectors(rows, dims, next);
    const query = unitVectors(1, dims, next)[0]!;
    const plain = allocateMatrix(rows, dims, null);
    const small = allocateMatrix(rows - 1, dims);
    expect(scannedWithSimd(plain)).toBe(false);
    expect(scannedWithSimd(small)).toBe(false);
    fill(plain, vectors, dims);
    fill(small, vectors.slice(0, rows - 1), dims);
    const simd = allocateMatrix(rows, dims);
    fill(simd, vectors, dims);
    expectClose(dotProducts(plain, rows, dims, query), dotProducts(simd, rows, dims, query));
    expectClose(dotProducts(small, rows - 1, dims, query), dotProducts(simd, rows - 1, dims, query));
  });

  it("moves a small user's matrix onto a WebAssembly memory once appends make it large", () => {
    const dims = 3;
    const cache = new UserVectorCache(10_000);
    cache.set("a", { ids: [], types: [], superseded: [], speakers: [], matrix: allocateMatrix(0, dims) });
    const vectors = unitVectors(minimumSimdRows * 3, dims, random(4));
    vectors.forEach((embedding, i) =>
      cache.upsert("a", { id: `m${i}`, type: "semantic", superseded: false, speaker: "", embedding }, dims),
    );
    const user = cache.get("a")!;
    expect(scannedWithSimd(user.matrix)).toBe(true);
    const query = vectors[7]!;
    const scores = dotProducts(user.matrix, user.ids.length, dims, query);
    const reference = new Float32Array(vectors.length * dims);
    fill(reference, vectors, dims);
    expectClose(scores, scalarDotProducts(reference, vectors.length, dims, query));
    expect(scores[7]).toBeCloseTo(1, 5);
  });
});
