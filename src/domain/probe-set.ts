import { InvalidArgumentError } from "./errors.js";
import { limits } from "./limits.js";
import type { MemoryType } from "./types.js";

/**
 * A labelled probe set: memories with keys, and queries each naming the keys
 * of the memories a healthy recall returns for it. The recall probe writes
 * the memories into a reserved namespace and asks the queries on a schedule.
 */
export interface ProbeSet {
  /** Labels the probe's metrics (`probe_set`): a short name. */
  readonly name: string;
  readonly memories: readonly { readonly key: string; readonly type: MemoryType; readonly content: string }[];
  readonly queries: readonly { readonly query: string; readonly relevant: readonly string[] }[];
}

/** Limits on a probe set: it is written and asked in full on every run. */
export const probeSetLimits = { memories: 500, queries: 200, nameBytes: 64 } as const;

const memoryTypes: readonly MemoryType[] = ["episodic", "semantic", "preference"];

/** Checks a parsed probe set (e.g. from JSON), naming the first bad field. */
export function validateProbeSet(value: unknown): ProbeSet {
  const set = value as Partial<ProbeSet> | null;
  if (typeof set !== "object" || set === null) throw new InvalidArgumentError("probe set", "must be a JSON object");
  if (typeof set.name !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(set.name)) {
    throw new InvalidArgumentError("name", "must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  if (!Array.isArray(set.memories) || set.memories.length === 0 || set.memories.length > probeSetLimits.memories) {
    throw new InvalidArgumentError("memories", `must hold 1 to ${probeSetLimits.memories} memories`);
  }
  const keys = new Set<string>();
  set.memories.forEach((m, i) => {
    if (typeof m?.key !== "string" || !limits.idPattern.test(m.key) || keys.has(m.key)) {
      throw new InvalidArgumentError(`memories[${i}].key`, "must be a unique id (letters, digits, ._:@-)");
    }
    keys.add(m.key);
    if (!memoryTypes.includes(m.type)) {
      throw new InvalidArgumentError(`memories[${i}].type`, `must be one of ${memoryTypes.join(", ")}`);
    }
    if (typeof m.content !== "string" || m.content === "" || Buffer.byteLength(m.content) > limits.memoryContentBytes) {
      throw new InvalidArgumentError(`memories[${i}].content`, `must be 1 byte to ${limits.memoryContentBytes} bytes`);
    }
  });
  if (!Array.isArray(set.queries) || set.queries.length === 0 || set.queries.length > probeSetLimits.queries) {
    throw new InvalidArgumentError("queries", `must hold 1 to ${probeSetLimits.queries} queries`);
  }
  set.queries.forEach((q, i) => {
    if (typeof q?.query !== "string" || q.query === "" || Buffer.byteLength(q.query) > limits.queryBytes) {
      throw new InvalidArgumentError(`queries[${i}].query`, `must be 1 byte to ${limits.queryBytes} bytes`);
    }
    if (
      !Array.isArray(q.relevant) ||
      q.relevant.length === 0 ||
      q.relevant.some((k: unknown) => typeof k !== "string" || !keys.has(k))
    ) {
      throw new InvalidArgumentError(`queries[${i}].relevant`, "must name at least one key of `memories`");
    }
  });
  return set as ProbeSet;
}

/** One query's outcome: where (1-based) its first relevant memory came, and how many relevant ones were in the top k. */
export interface ProbeQueryResult {
  readonly relevant: number;
  readonly found: number;
  readonly firstRank: number | undefined;
  readonly seconds: number;
}

export interface ProbeScore {
  readonly queries: number;
  /** Mean over queries of relevant found in the top k / relevant. */
  readonly recallAtK: number;
  /** Mean over queries of 1 / rank of the first relevant memory (0 when none in the top k). */
  readonly meanReciprocalRank: number;
  /** Queries with no relevant memory in the top k. */
  readonly missed: number;
}

/** Scores a run: pure, so the maths is tested without a store. */
export function scoreProbe(results: readonly ProbeQueryResult[]): ProbeScore {
  const n = results.length;
  const mean = (f: (r: ProbeQueryResult) => number) => (n === 0 ? 0 : results.reduce((s, r) => s + f(r), 0) / n);
  return {
    queries: n,
    recallAtK: mean((r) => r.found / r.relevant),
    meanReciprocalRank: mean((r) => (r.firstRank === undefined ? 0 : 1 / r.firstRank)),
    missed: results.filter((r) => r.found === 0).length,
  };
}

/** One run of the recall probe: what the metrics and the CLI report. */
export interface ProbeRun {
  readonly probeSet: string;
  readonly topK: number;
  readonly score: ProbeScore;
  readonly results: readonly ProbeQueryResult[];
  /**
   * The same queries ranked by one signal alone: the fused score can stay
   * perfect while one signal is broken (a swapped embedder is hidden by the
   * lexical index, a broken index by the embedder), so each is scored too.
   */
  readonly bySignal: { readonly vector: ProbeScore; readonly lexical: ProbeScore };
  /** Whether this run (re)wrote the probe memories first. */
  readonly seeded: boolean;
  readonly seconds: number;
}
