import { Worker } from "node:worker_threads";
import type {
  CloseRequest,
  InferenceReply,
  InferenceRequest,
  InferenceWorkerData,
  ReadyMessage,
} from "./onnx-inference-worker.js";
import { hasLoneSession, type InferenceSessionKind, type InferenceThreads } from "./onnx-session-choice.js";

/** An int64 input tensor: its values and shape. */
export interface Int64Input {
  readonly data: BigInt64Array;
  readonly dims: readonly number[];
}

/** The model's first output for one inference. */
export interface InferenceOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/**
 * An onnxruntime session living on its own worker thread (see
 * onnx-inference-worker.ts for why): inferences are queued there in the
 * order they are sent, and the event loop stays free while they compute.
 */
export class OnnxInferenceThread {
  private readonly pending = new Map<
    number,
    { resolve: (output: InferenceOutput) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {
    worker.on("message", (reply: InferenceReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ("error" in reply) waiting.reject(new Error(`onnxruntime inference failed: ${reply.error}`));
      else waiting.resolve({ data: reply.data, dims: reply.dims });
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const waiting of this.pending.values()) waiting.reject(this.failure);
      this.pending.clear();
      worker.unref();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the onnxruntime worker thread exited (code ${code})`)));
    // Held only while an inference is awaited: an idle embedder must not keep the process alive.
    worker.unref();
  }

  /** Starts the thread and loads the model there; rejects with the loader's error. */
  static async start(modelPath: string, threads: InferenceThreads): Promise<OnnxInferenceThread> {
    const workerData: InferenceWorkerData = {
      modelPath,
      threads: threads.threads,
      loneThreads: hasLoneSession(threads) ? threads.loneThreads : undefined,
    };
    const worker = new Worker(workerUrl(), { workerData });
    const ready = await new Promise<ReadyMessage>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the onnxruntime worker thread exited (code ${code})`)));
    }).catch(async (cause: unknown) => {
      await worker.terminate();
      throw cause;
    });
    if (!ready.ready) {
      await worker.terminate();
      throw new Error(`onnxruntime could not load ${modelPath}: ${ready.error}`);
    }
    // Only ours: Node keeps its own listeners on the worker (newListener) to start its port.
    for (const event of ["message", "error", "exit"]) worker.removeAllListeners(event);
    return new OnnxInferenceThread(worker, ready.inputNames, ready.outputNames);
  }

  /** One inference; `session` picks the worker's session (onnx-session-choice.ts). */
  run(feeds: Readonly<Record<string, Int64Input>>, session: InferenceSessionKind = "batch"): Promise<InferenceOutput> {
    if (this.failure || this.closed) return Promise.reject(this.failure ?? new Error("the embedder is closed"));
    const id = this.nextId++;
    return new Promise<InferenceOutput>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      // The inputs are the caller's scratch arrays: moved, not copied.
      this.worker.postMessage(
        { id, lone: session === "lone", feeds } satisfies InferenceRequest,
        Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer),
      );
    });
  }

  /**
   * Ends the thread once the inferences already sent are answered: a
   * thread terminated during an inference aborts the whole process
   * (onnxruntime throws from a native destructor).
   */
  async close(): Promise<void> {
    if (this.closed) return this.closed;
    this.worker.ref();
    this.closed = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage({ close: true } satisfies CloseRequest);
    await this.closed;
    this.failure ??= new Error("the embedder is closed");
  }
}

/**
 * The worker's file beside this one: compiled JavaScript in dist/, the
 * TypeScript source under tsx and vitest (Node strips its types).
 */
function workerUrl(): URL {
  const extension = import.meta.url.endsWith(".ts") ? "ts" : "js";
  return new URL(`./onnx-inference-worker.${extension}`, import.meta.url);
}
