import { compileDotProducts, type DotProductModule, type Dots, type SimdMemory } from "./simd-dot-products.js";

/**
 * Where a cached user's vectors live, and the scan over them. A matrix of
 * at least `minimumSimdRows` rows is a view on a WebAssembly memory of its
 * own, so the SIMD scan (simd-dot-products.ts) reads it where it lies: no
 * copy per call. Smaller matrices, and every matrix where the engine has no
 * WebAssembly SIMD or will not give another memory, are plain Float32Arrays
 * scanned by the scalar loop; both give the same scores up to float32
 * rounding.
 *
 * A WebAssembly matrix's memory holds the matrix at byte 0, then scratch
 * space for one scan: the query, then a score per row. Growing it grows
 * the memory in place (no copy) and replaces its Float32Array: memory.grow
 * detaches every earlier view, so the grown matrix is the only one to keep.
 */

/**
 * Below this many rows the scalar scan takes a fraction of a millisecond,
 * and each WebAssembly memory reserves gigabytes of address space (Node 24
 * refused the 16,360th in one process), so small users keep plain arrays:
 * the cache's default budget of 262,144 vectors then holds at most 1,024
 * such memories. A refusal is not an error: that user gets a plain array.
 */
export const minimumSimdRows = 256;

const page = 65_536;
/** The compiled SIMD scan, or null where the engine has no WebAssembly SIMD. */
export const simdScan: DotProductModule | null = compileDotProducts() ?? null;

/** The instance scanning one memory, and the scratch space after its matrix. */
interface Scanner {
  readonly memory: SimdMemory;
  readonly dots: Dots;
  readonly queryAt: number;
  readonly scoresAt: number;
  readonly rows: number;
  readonly dims: number;
}

/** Each WebAssembly matrix's scanner, by its buffer (a grown memory's new buffer gets its own entry). */
const scanners = new WeakMap<ArrayBufferLike, Scanner>();

/** Bytes a memory needs for a matrix of rows × dims and its scratch space, 16-byte aligned. */
function layout(rows: number, dims: number) {
  const align = (bytes: number) => Math.ceil(bytes / 16) * 16;
  const queryAt = align(rows * dims * 4);
  const scoresAt = queryAt + align(dims * 4);
  return { queryAt, scoresAt, bytes: scoresAt + rows * 4 };
}

/** The matrix's Float32Array on `memory`, registered with its scanner. */
function view(memory: SimdMemory, dots: Dots, rows: number, dims: number): Float32Array {
  const { queryAt, scoresAt } = layout(rows, dims);
  scanners.set(memory.buffer, { memory, dots, queryAt, scoresAt, rows, dims });
  return new Float32Array(memory.buffer, 0, rows * dims);
}

/**
 * A zeroed matrix of rows × dims: on a WebAssembly memory of its own when
 * `scan` (the SIMD scan; a test passes null for the fallback) can scan it.
 */
export function allocateMatrix(rows: number, dims: number, scan: DotProductModule | null = simdScan): Float32Array {
  if (scan && rows >= minimumSimdRows) {
    try {
      const { memory, dots } = scan.instantiate(Math.ceil(layout(rows, dims).bytes / page));
      return view(memory, dots, rows, dims);
    } catch {
      // The engine would not give another memory (address space): this user is scanned by the scalar loop.
    }
  }
  return new Float32Array(rows * dims);
}

/**
 * A matrix of `rows` rows holding `matrix`'s first `keep` floats. A
 * WebAssembly matrix grows in place; `matrix` is then detached (empty), so
 * the caller must hold only the matrix returned.
 */
export function growMatrix(matrix: Float32Array, rows: number, dims: number, keep: number): Float32Array {
  const scanner = scanners.get(matrix.buffer);
  if (scanner && scanner.dims === dims) {
    const needed = Math.ceil(layout(rows, dims).bytes / page) - scanner.memory.buffer.byteLength / page;
    try {
      if (needed > 0) {
        scanner.memory.grow(needed);
        scanners.delete(matrix.buffer);
      }
      return view(scanner.memory, scanner.dots, rows, dims);
    } catch {
      // Could not grow: copied into a new matrix below.
    }
  }
  const grown = allocateMatrix(rows, dims);
  grown.set(matrix.subarray(0, keep));
  return grown;
}

/** Whether `matrix` lives on a WebAssembly memory, so `dotProducts` scans it with SIMD. */
export function scannedWithSimd(matrix: Float32Array): boolean {
  return scanners.has(matrix.buffer);
}

/**
 * The query's dot product with each of the first `rows` rows of `matrix`.
 * The result may be a view on the matrix's scratch space: read it before
 * the next scan or growth of the same matrix.
 */
export function dotProducts(matrix: Float32Array, rows: number, dims: number, query: Float32Array): Float32Array {
  const scanner = scanners.get(matrix.buffer);
  if (!scanner || scanner.dims !== dims || rows > scanner.rows || query.length < dims)
    return scalarDotProducts(matrix, rows, dims, query);
  const buffer = scanner.memory.buffer;
  new Float32Array(buffer, scanner.queryAt, dims).set(query.subarray(0, dims));
  scanner.dots(scanner.queryAt, 0, rows, dims, scanner.scoresAt);
  return new Float32Array(buffer, scanner.scoresAt, rows);
}

/** The scalar scan: the fallback, and the reference the SIMD scan is tested against. */
export function scalarDotProducts(matrix: Float32Array, rows: number, dims: number, query: Float32Array): Float32Array {
  const scores = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let dot = 0;
    for (let j = 0, offset = i * dims; j < dims; j++) dot += query[j]! * matrix[offset + j]!;
    scores[i] = dot;
  }
  return scores;
}
