import { parentPort, workerData } from "node:worker_threads";
import type { InferenceSession, Tensor } from "onnxruntime-node";

/**
 * The thread that runs the embedding model. onnxruntime-node's
 * `session.run` computes on the calling thread (its promise only defers the
 * start to the next turn), so on the main thread every inference froze the
 * event loop: 16 concurrent Recalls queued behind one another's inferences
 * and another tenant's Ping waited behind all of them. Here the event loop
 * stays free and the model has a core of its own.
 *
 * This file imports nothing of Engram's (a worker is started from the
 * compiled file in dist/ and, in tests, from this .ts file by Node's type
 * stripping, which does not map ".js" imports to ".ts" files), so the
 * pooling lives here too.
 */

/** What the main thread sends to start the worker. */
export interface InferenceWorkerData {
  readonly kind: "engram-onnx-inference";
  readonly model: Uint8Array;
  readonly threads: number;
}

/** One inference: token ids already padded to `width` (the main thread tokenizes). */
export interface InferenceRequest {
  readonly id: number;
  readonly ids: BigInt64Array;
  readonly mask: BigInt64Array;
  /** Each row's real token count (the rest is padding). */
  readonly lengths: readonly number[];
  readonly width: number;
}

export type InferenceReply =
  | { readonly id: number; readonly vectors: Float32Array; readonly dimensions: number; readonly ms: number }
  | { readonly id: number; readonly error: string };

/**
 * Mean of each text's token vectors over its real tokens (not the padding),
 * scaled to unit length, all rows in one array (row r at r × hidden). A model
 * that already pools ([batch, dims]) is only normalised.
 */
export function meanPoolRows(
  data: Float32Array,
  dims: readonly number[],
  lengths: readonly number[],
): Float32Array<ArrayBuffer> {
  const pooled = dims.length === 2;
  const width = pooled ? 1 : dims[1]!;
  const hidden = dims[dims.length - 1]!;
  const out = new Float32Array(lengths.length * hidden);
  lengths.forEach((length, r) => {
    const vector = out.subarray(r * hidden, (r + 1) * hidden);
    const tokens = pooled ? 1 : length;
    for (let t = 0; t < tokens; t++) {
      const offset = (r * width + t) * hidden;
      for (let d = 0; d < hidden; d++) vector[d] = vector[d]! + data[offset + d]!;
    }
    let norm = 0;
    for (const v of vector) norm += v * v;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let d = 0; d < hidden; d++) vector[d] = vector[d]! * scale;
  });
  return out;
}

async function serve(data: InferenceWorkerData): Promise<void> {
  const port = parentPort!;
  const ort = await import("onnxruntime-node");
  const session: InferenceSession = await ort.InferenceSession.create(data.model, {
    intraOpNumThreads: data.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    // The arena keeps the peak of any batch for good: one batch of 19 texts of 256 tokens grew the
    // server by 440 MiB. Without it, inference measured as fast and its output is identical.
    enableCpuMemArena: false,
  });
  const withTokenTypes = session.inputNames.includes("token_type_ids");
  const output = session.outputNames[0]!;
  // Inferences run one at a time, in arrival order: the main thread batches what queues meanwhile.
  let queue = Promise.resolve();
  port.on("message", (request: InferenceRequest) => {
    queue = queue.then(async () => {
      try {
        const started = performance.now();
        const shape = [request.lengths.length, request.width];
        const feeds: Record<string, Tensor> = {
          input_ids: new ort.Tensor("int64", request.ids, shape),
          attention_mask: new ort.Tensor("int64", request.mask, shape),
        };
        if (withTokenTypes)
          feeds.token_type_ids = new ort.Tensor("int64", new BigInt64Array(request.ids.length), shape);
        const outputs = await session.run(feeds);
        const hidden = outputs[output]!;
        const vectors = meanPoolRows(hidden.data as Float32Array, hidden.dims, request.lengths);
        const reply: InferenceReply = {
          id: request.id,
          vectors,
          dimensions: hidden.dims[hidden.dims.length - 1]!,
          ms: performance.now() - started,
        };
        port.postMessage(reply, [vectors.buffer]);
      } catch (error) {
        const reply: InferenceReply = { id: request.id, error: String(error) };
        port.postMessage(reply);
      }
    });
  });
  port.postMessage({ ready: true });
}

const started = workerData as InferenceWorkerData | undefined;
if (parentPort && started?.kind === "engram-onnx-inference") {
  serve(started).catch((error: unknown) => parentPort!.postMessage({ failed: String(error) }));
}
