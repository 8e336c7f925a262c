/** Latency percentiles and throughput of a repeated async operation. */
export interface Figures {
  readonly name: string;
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly throughputPerSecond: number;
}

/**
 * Runs `operation` `calls` times: first one at a time for latency, then with
 * `concurrency` in flight for throughput. `operation` gets the call's index.
 */
export async function measure(
  name: string,
  operation: (i: number) => Promise<unknown>,
  options: { calls: number; concurrency: number; warmup?: number },
): Promise<Figures> {
  for (let i = 0; i < (options.warmup ?? 50); i++) await operation(-1 - i);
  const latencies: number[] = [];
  for (let i = 0; i < options.calls; i++) {
    const started = performance.now();
    await operation(i);
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.calls) await operation(options.calls + next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    name,
    calls: options.calls,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    throughputPerSecond: options.calls / seconds,
  };
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export function printTable(title: string, rows: readonly Figures[], baseline: Figures): void {
  console.log(`\n${title}`);
  console.log(`| operation | calls | p50 ms | p99 ms | ops/s | p50 vs ${baseline.name} |`);
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.calls} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${Math.round(r.throughputPerSecond)} | ${(r.p50Ms / baseline.p50Ms).toFixed(1)}× |`,
    );
  }
}
