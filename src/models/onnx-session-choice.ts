/**
 * Which of the model thread's sessions runs a batch. A lone query (a batch
 * of one text: the batcher sends one only when nothing else was waiting) is
 * a Recall's whole wait for its embedding; where the machine has a core to
 * spare, ENGRAM_ONNX_LONE_QUERY_THREADS above ENGRAM_ONNX_THREADS gives it a
 * second session with more intra-op threads. Batches (concurrent calls,
 * writes) stay on the first: there a second thread takes the core the rest
 * of the service needs. Both sessions load the same model with the same
 * options, and a text's vector is bit-identical on either
 * (test/e2e/local-onnx.e2e.test.ts checks it). Off by default: it holds the
 * model's weights twice (about 100 MiB) and, on a loaded 2-core machine,
 * bought no speed (docs/performance.md).
 */
export interface InferenceThreads {
  /** Intra-op threads for batches of several texts (ENGRAM_ONNX_THREADS). */
  readonly threads: number;
  /** Intra-op threads for a lone text (ENGRAM_ONNX_LONE_QUERY_THREADS); at most `threads`: one session for all. */
  readonly loneThreads: number;
}

export type InferenceSessionKind = "lone" | "batch";

/** Whether the model thread keeps a second session for lone texts: only to give them more threads. */
export function hasLoneSession(threads: InferenceThreads): boolean {
  return threads.loneThreads > threads.threads;
}

/** The session that runs a batch of `texts` texts. */
export function sessionFor(texts: number, threads: InferenceThreads): InferenceSessionKind {
  return texts === 1 && hasLoneSession(threads) ? "lone" : "batch";
}
