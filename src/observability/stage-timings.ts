import type { Stores } from "../domain/ports.js";

/**
 * Where a Recall's time goes, stage by stage, for `npm run bench` and for an
 * operator chasing a slow server (ENGRAM_STAGE_TIMINGS=true; `kill -USR2`
 * logs the figures gathered since the last report and starts afresh).
 *
 * Off by default, and then a hook costs one property read: `begin()`
 * returns 0 without reading the clock and `end()` returns at once. A
 * process-wide recorder rather than a constructor argument because the
 * stages sit in four layers (model, store, domain, RPC) that should not
 * grow a parameter for a diagnostic.
 */
export type Stage =
  /** A query's embedding as its caller waits for it: queueing for the model and inference. */
  | "embedding"
  /** One batched inference on the model's thread (recorded once per batch). */
  | "embedding inference"
  /** Texts per batched inference (a count, not milliseconds). */
  | "embedding batch size"
  /** Query embeddings answered from the cache (a count per lookup: 1 hit, 0 miss). */
  | "embedding cache hit"
  | "vector search"
  | "lexical search"
  | "fusion"
  /** Loading the fused candidates' rows. */
  | "row load"
  /** A whole store read for recall (candidates) or a write's conflict check (search), and any wait. */
  | "store search"
  /** Decoding a store's answer into records (Weaviate: the candidates' properties). */
  | "candidate decoding"
  /** One user's batch of access statistics written to the store (off the request path). */
  | "access write"
  /** Ranking, access queueing and events after the search (the domain's own work). */
  | "ranking"
  /** The RPC handler from request to reply, before the framework serialises it. */
  | "recall handler";

export interface StageSummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
}

class StageTimings {
  enabled = false;
  private samples = new Map<Stage, number[]>();

  /** A start time for `end`, or 0 when off. */
  begin(): number {
    return this.enabled ? performance.now() : 0;
  }

  end(stage: Stage, started: number): void {
    if (!this.enabled) return;
    this.add(stage, performance.now() - started);
  }

  add(stage: Stage, value: number): void {
    if (!this.enabled) return;
    let list = this.samples.get(stage);
    if (!list) this.samples.set(stage, (list = []));
    // Bounded: a long-running server with timings on keeps the latest 100,000 per stage.
    if (list.length >= 100_000) list.shift();
    list.push(value);
  }

  /** The figures so far, per stage, and a fresh start. */
  drain(): Partial<Record<Stage, StageSummary>> {
    const summary: Partial<Record<Stage, StageSummary>> = {};
    for (const [stage, values] of this.samples) {
      const sorted = [...values].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
      summary[stage] = {
        count: sorted.length,
        mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
        p50: at(0.5),
        p99: at(0.99),
      };
    }
    this.samples = new Map();
    return summary;
  }
}

export const stageTimings = new StageTimings();

/**
 * Stores whose long-term `candidates` (recall's read) and `search` (the
 * write path's conflict check) are timed as "store search" (only wrapped
 * when timings are on).
 */
export function withSearchTimings(stores: Stores): Stores {
  const longTerm = stores.longTerm;
  const timed =
    <A extends unknown[], R>(read: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = stageTimings.begin();
      try {
        return await read(...args);
      } finally {
        stageTimings.end("store search", started);
      }
    };
  const candidates = timed(longTerm.candidates.bind(longTerm));
  const search = timed(longTerm.search.bind(longTerm));
  return {
    ...stores,
    longTerm: new Proxy(longTerm, {
      get: (target, property, receiver) =>
        property === "candidates"
          ? candidates
          : property === "search"
            ? search
            : (Reflect.get(target, property, receiver) as unknown),
    }),
  };
}
