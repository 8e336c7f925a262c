/**
 * Which of the model thread's two sessions runs a batch. A lone query (a
 * batch of one text: the batcher sends one only when nothing else was
 * waiting) is a Recall's whole wait for its embedding, and the machine's
 * other core is then mostly idle, so it runs on the session with
 * `loneThreads` intra-op threads. Batches (concurrent calls, writes) run on
 * the one with `threads`: there a second thread buys little per text and
 * takes the core the rest of the service needs. Both sessions load the same
 * model with the same graph, and a text's vector is bit-identical on either
 * (test/unit/onnx-embedder-sessions.test.ts checks it).
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
