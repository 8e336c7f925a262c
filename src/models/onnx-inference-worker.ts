/**
 * The worker thread that runs ONNX inference for OnnxEmbedder. onnxruntime-node's
 * `session.run` computes on the calling thread (its promise only defers the start
 * to the next turn of the loop), so on the main thread one batch of 32 texts of
 * 256 tokens held every other caller for seconds on a busy two-core machine
 * (docs/bounded-work.md). Here the event loop only tokenizes and pools.
 *
 * Self-contained on purpose (no relative imports, erasable TypeScript only):
 * under tests and tsx Node loads this file as it is, by stripping its types.
 */
import { parentPort, workerData } from "node:worker_threads";

/** What the main thread sends: one inference, its inputs as int64 tensors. */
export interface InferenceRequest {
  readonly id: number;
  /** Runs on the lone-query session (onnx-session-choice.ts), when the worker has one. */
  readonly lone: boolean;
  readonly feeds: Readonly<Record<string, { readonly data: BigInt64Array; readonly dims: readonly number[] }>>;
}

/** Asks the worker to release the model and end, once the inferences sent before are answered. */
export interface CloseRequest {
  readonly close: true;
}

/** What the worker answers: the first output, or why it failed. */
export type InferenceReply =
  | { readonly id: number; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly id: number; readonly error: string };

/** The first message: the model is loaded, with these input and output names (or it failed to load). */
export type ReadyMessage =
  | { readonly ready: true; readonly inputNames: readonly string[]; readonly outputNames: readonly string[] }
  | { readonly ready: false; readonly error: string };

export interface InferenceWorkerData {
  readonly modelPath: string;
  /** Intra-op threads of the session every batch runs on. */
  readonly threads: number;
  /** Intra-op threads of a second session for lone texts; undefined: no second session. */
  readonly loneThreads: number | undefined;
}

async function serve(): Promise<void> {
  const port = parentPort!;
  const { modelPath, threads, loneThreads } = workerData as InferenceWorkerData;
  const ort = await import("onnxruntime-node");
  const open = (intraOpNumThreads: number) =>
    ort.InferenceSession.create(modelPath, {
      intraOpNumThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      // The arena keeps the peak of any batch for good: 20 texts of 256 tokens took RSS 345 -> 763 MiB
      // with it, 328 -> 374 MiB without (docs/performance.md); same speed, identical vectors.
      enableCpuMemArena: false,
      extra: {
        // onnxruntime's pool threads spin after each run by default: with 2 threads the process burnt 28-37 ms
        // of CPU in the idle second after a query, and on a loaded 2-core machine a lone query took 13-14 ms
        // p50 against 6.4-9.3 without spinning; bit-identical vectors (docs/performance.md). One thread has no
        // pool: nothing spins there.
        session: { intra_op: { allow_spinning: "0" } },
        // SkipLayerNormalization, the fused Add + LayerNormalization, is slower on this model than the two
        // nodes it replaces: without it a query costs 5-15 % less CPU, alone or in batches of 16, and vectors
        // move by at most 1.6e-7 per dimension (docs/performance.md; test/e2e/local-onnx.e2e.test.ts holds them
        // to main's within 1e-6).
        optimization: { disable_specified_optimizers: "SkipLayerNormFusion" },
      },
    });
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  let lone: typeof session | undefined;
  try {
    session = await open(threads);
    lone = loneThreads === undefined ? undefined : await open(loneThreads);
  } catch (cause) {
    port.postMessage({ ready: false, error: String(cause) } satisfies ReadyMessage);
    return;
  }
  port.on("message", (request: InferenceRequest | CloseRequest) => {
    if ("close" in request) {
      // After the inferences queued before it: terminating the thread during a run aborts the process.
      void Promise.all([session.release(), lone?.release()]).finally(() => port.close());
      return;
    }
    const runner = request.lone && lone ? lone : session;
    const feeds = Object.fromEntries(
      Object.entries(request.feeds).map(([name, t]) => [name, new ort.Tensor("int64", t.data, [...t.dims])]),
    );
    runner.run(feeds).then(
      (outputs) => {
        const output = outputs[runner.outputNames[0]!]!;
        // A copy the worker owns, so it can be transferred rather than cloned.
        const data = new Float32Array(output.data as Float32Array);
        const reply: InferenceReply = { id: request.id, data, dims: output.dims };
        port.postMessage(reply, [data.buffer as ArrayBuffer]);
      },
      (cause: unknown) => port.postMessage({ id: request.id, error: String(cause) } satisfies InferenceReply),
    );
  });
  port.postMessage({
    ready: true,
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
  } satisfies ReadyMessage);
}

if (parentPort) void serve();
