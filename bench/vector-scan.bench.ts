import { loadavg } from "node:os";
import {
  allocateMatrix,
  dotProducts,
  scalarDotProducts,
  scannedWithSimd,
} from "../src/storage/embedded/vector-matrix.js";

/**
 * The embedded store's exact vector scan alone, in process: one query's dot
 * product with every row of a user's matrix (unit vectors), the SIMD scan
 * (storage/embedded/vector-matrix.ts) beside the scalar loop it replaced,
 * over the same matrix in the same run. The two alternate, round by round,
 * so a busy machine slows both alike.
 */
export async function benchVectorScan(options: { rows: number; dims?: number; rounds?: number }): Promise<void> {
  const { rows } = options;
  const dims = options.dims ?? 384;
  const rounds = options.rounds ?? 200;
  const matrix = allocateMatrix(rows, dims);
  let seed = 1;
  const next = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647) * 2 - 1;
  const unit = () => {
    const v = Float32Array.from({ length: dims }, next);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  for (let i = 0; i < rows; i++) matrix.set(unit(), i * dims);
  const queries = Array.from({ length: 16 }, unit);

  const timed = (scan: () => Float32Array) => {
    const started = performance.now();
    const scores = scan();
    return { scores, ms: performance.now() - started };
  };
  let worst = 0;
  const times = { scalar: [] as number[], simd: [] as number[] };
  for (let round = -20; round < rounds; round++) {
    const query = queries[(round + 20) % queries.length]!;
    const scalar = timed(() => scalarDotProducts(matrix, rows, dims, query));
    const simd = timed(() => dotProducts(matrix, rows, dims, query));
    for (let i = 0; i < rows; i++) worst = Math.max(worst, Math.abs(simd.scores[i]! - scalar.scores[i]!));
    if (round < 0) continue; // warm-up: both compiled and optimised first
    times.scalar.push(scalar.ms);
    times.simd.push(simd.ms);
  }
  const p50 = (list: number[]) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  console.log(
    `\nExact vector scan in process, ${rows} × ${dims} floats, ${rounds} queries (load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} on this machine)`,
  );
  console.log("| scan | p50 ms | multiply-adds per ns |");
  console.log("|---|---:|---:|");
  for (const [name, list] of [
    ["scalar JavaScript loop (the fallback)", times.scalar],
    [`WebAssembly SIMD, f32x4${scannedWithSimd(matrix) ? "" : " (unavailable here: the scalar loop ran)"}`, times.simd],
  ] as const) {
    const ms = p50(list);
    console.log(`| ${name} | ${ms.toFixed(3)} | ${((rows * dims) / (ms * 1e6)).toFixed(2)} |`);
  }
  console.log(
    `SIMD vs scalar: ${(p50(times.scalar) / p50(times.simd)).toFixed(1)}× faster; largest score difference ${worst.toExponential(1)}`,
  );
}
