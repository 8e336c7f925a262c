/**
 * A WebAssembly module, written out byte by byte, that computes one query's
 * dot product with every row of a matrix using 128-bit SIMD (four float32
 * lanes at a time). No build step and no binary in the repository: the few
 * instructions it needs are encoded here, readably, and the engine checks
 * the result with `WebAssembly.validate` before anything uses it.
 *
 * The function, exported as `dots`, imports its memory and takes byte
 * addresses in it:
 *
 *   dots(query, matrix, rows, dims, out)
 *     for row in 0..rows:
 *       out[row] = Σ_j query[j] × matrix[row × dims + j]     (float32)
 *
 * Each row is summed in four lanes (lane k holds the products j ≡ k mod 4),
 * the lanes are added, then the dims % 4 last products one at a time: the
 * same products as the scalar loop, in float32, summed in another order.
 */

// Value types, block types and instructions, from the WebAssembly binary format (with its SIMD proposal).
const i32 = 0x7f;
const f32 = 0x7d;
const v128 = 0x7b;
const empty = 0x40;

/** An unsigned LEB128 integer: 7 bits a byte, low first, the top bit set on all but the last. */
function unsigned(n: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (n !== 0);
  return bytes;
}

/** A signed LEB128 integer (i32.const's operand). */
function signed(n: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

/** A vector: its length, then its items. */
const vector = (items: number[][]): number[] => [...unsigned(items.length), ...items.flat()];
const utf8 = (text: string): number[] => vector([...new TextEncoder().encode(text)].map((b) => [b]));
/** A section: its id, its byte length, its contents. */
const section = (id: number, contents: number[]): number[] => [id, ...unsigned(contents.length), ...contents];

// The instructions used, by name. `align` is log2 of the alignment the code promises (4 bytes: a float's).
const op = {
  block: [0x02, empty],
  loop: [0x03, empty],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...unsigned(depth)],
  brIf: (depth: number) => [0x0d, ...unsigned(depth)],
  get: (local: number) => [0x20, ...unsigned(local)],
  set: (local: number) => [0x21, ...unsigned(local)],
  i32Const: (n: number) => [0x41, ...signed(n)],
  i32GeU: [0x4f],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32And: [0x71],
  f32Load: [0x2a, 2, 0],
  f32Store: [0x38, 2, 0],
  f32Add: [0x92],
  f32Mul: [0x94],
  // SIMD instructions: the 0xfd prefix, then the instruction's number as an unsigned LEB128.
  v128Load: [0xfd, ...unsigned(0x00), 2, 0],
  f32x4Splat: [0xfd, ...unsigned(0x13)],
  f32x4ExtractLane: (lane: number) => [0xfd, ...unsigned(0x1f), lane],
  f32x4Add: [0xfd, ...unsigned(0xe4)],
  f32x4Mul: [0xfd, ...unsigned(0xe6)],
  f32Const0: [0x43, 0, 0, 0, 0],
};

// The function's locals: its five parameters, then its own.
const query = 0; // byte address of the query vector
const matrix = 1; // byte address of row 0; advanced by a row each time
const rows = 2;
const dims = 3;
const out = 4; // byte address of out[0]; advanced by a float each time
const row = 5;
const at = 6; // byte offset within the row
const rowBytes = 7; // dims × 4
const laneBytes = 8; // (dims rounded down to a multiple of 4) × 4: the part read four floats at a time
const lanes = 9; // v128: four running sums
const sum = 10; // f32

/** `local.set(local, local.get(local) + n)` */
const increment = (local: number, n: number | number[]) => [
  ...op.get(local),
  ...(typeof n === "number" ? op.i32Const(n) : n),
  ...op.i32Add,
  ...op.set(local),
];

const body: number[] = [
  ...[...op.get(dims), ...op.i32Const(4), ...op.i32Mul, ...op.set(rowBytes)],
  ...[...op.get(rowBytes), ...op.i32Const(-16), ...op.i32And, ...op.set(laneBytes)],
  ...op.block,
  ...op.loop, // for each row
  ...[...op.get(row), ...op.get(rows), ...op.i32GeU, ...op.brIf(1)],
  ...[...op.f32Const0, ...op.f32x4Splat, ...op.set(lanes)],
  ...[...op.i32Const(0), ...op.set(at)],
  // lanes += query[at..at+4] × row[at..at+4], while four floats remain
  ...op.block,
  ...op.loop,
  ...[...op.get(at), ...op.get(laneBytes), ...op.i32GeU, ...op.brIf(1)],
  ...op.get(lanes),
  ...[...op.get(query), ...op.get(at), ...op.i32Add, ...op.v128Load],
  ...[...op.get(matrix), ...op.get(at), ...op.i32Add, ...op.v128Load],
  ...op.f32x4Mul,
  ...op.f32x4Add,
  ...op.set(lanes),
  ...increment(at, 16),
  ...op.br(0),
  ...op.end,
  ...op.end,
  // sum = (lane 0 + lane 1) + (lane 2 + lane 3)
  ...[...op.get(lanes), ...op.f32x4ExtractLane(0), ...op.get(lanes), ...op.f32x4ExtractLane(1), ...op.f32Add],
  ...[...op.get(lanes), ...op.f32x4ExtractLane(2), ...op.get(lanes), ...op.f32x4ExtractLane(3), ...op.f32Add],
  ...[...op.f32Add, ...op.set(sum)],
  // sum += query[at] × row[at] for the dims % 4 floats left
  ...op.block,
  ...op.loop,
  ...[...op.get(at), ...op.get(rowBytes), ...op.i32GeU, ...op.brIf(1)],
  ...op.get(sum),
  ...[...op.get(query), ...op.get(at), ...op.i32Add, ...op.f32Load],
  ...[...op.get(matrix), ...op.get(at), ...op.i32Add, ...op.f32Load],
  ...[...op.f32Mul, ...op.f32Add, ...op.set(sum)],
  ...increment(at, 4),
  ...op.br(0),
  ...op.end,
  ...op.end,
  // out[row] = sum; on to the next row
  ...[...op.get(out), ...op.get(sum), ...op.f32Store],
  ...increment(out, 4),
  ...increment(matrix, op.get(rowBytes)),
  ...increment(row, 1),
  ...op.br(0),
  ...op.end,
  ...op.end,
  ...op.end, // the function's end
];

/** The module's bytes: `dots` and the memory it imports as `env.memory`. */
export function dotProductModuleBytes(): Uint8Array {
  // Locals beyond the parameters, as (count, type) runs: row, at, rowBytes, laneBytes; lanes; sum.
  const locals = vector([
    [4, i32],
    [1, v128],
    [1, f32],
  ]);
  const code = [...locals, ...body];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d], // "\0asm"
    ...[0x01, 0x00, 0x00, 0x00], // version 1
    // Type section: one function type, (i32 × 5) → ().
    ...section(1, vector([[0x60, ...vector([[i32], [i32], [i32], [i32], [i32]]), ...vector([])]])),
    // Import section: env.memory, a memory (kind 2) of at least 0 pages, no maximum (flag 0).
    ...section(2, vector([[...utf8("env"), ...utf8("memory"), 0x02, 0x00, ...unsigned(0)]])),
    // Function section: one function, of type 0.
    ...section(3, vector([[0]])),
    // Export section: "dots" is function (kind 0) number 0.
    ...section(7, vector([[...utf8("dots"), 0x00, 0]])),
    // Code section: the one function's body, prefixed by its length.
    ...section(10, vector([[...unsigned(code.length), ...code]])),
  ]);
}

/** The signature of the exported function (byte addresses into the imported memory). */
export type Dots = (query: number, matrix: number, rows: number, dims: number, out: number) => void;

/** A WebAssembly memory: its bytes (a new ArrayBuffer after each growth) and its growth, in 64 KiB pages. */
export interface SimdMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The compiled module: each instance gets a new memory of its own. */
export interface DotProductModule {
  instantiate(pages: number): { memory: SimdMemory; dots: Dots };
}

/** The part of the WebAssembly API used here (the project's TypeScript libraries do not declare it). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => SimdMemory;
}

/**
 * The compiled module, or undefined where the engine rejects it (no
 * WebAssembly, or no SIMD): callers then keep to the scalar loop.
 */
export function compileDotProducts(bytes: Uint8Array = dotProductModuleBytes()): DotProductModule | undefined {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (wasm === undefined || !wasm.validate(bytes)) return undefined;
  let compiled: object;
  try {
    compiled = new wasm.Module(bytes);
  } catch {
    return undefined;
  }
  return {
    // Instantiating this module is cheap (it is compiled once): an instance per memory.
    instantiate(pages) {
      const memory = new wasm.Memory({ initial: pages });
      const instance = new wasm.Instance(compiled, { env: { memory } });
      return { memory, dots: instance.exports.dots as Dots };
    },
  };
}
