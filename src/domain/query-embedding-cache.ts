import { identityKey, type Embedder } from "./models.js";

/**
 * Remembers the vectors of recent recall queries, so a query asked again
 * (a gateway re-sending the same turn, an agent polling the same question)
 * skips the model. Bounded by entry count, least recently used first out;
 * keyed by the embedder's identity key as well as the text, so vectors of
 * another model (after a reconfiguration in the same process, or two
 * embedders sharing a cache) can never be served. Only single-text calls
 * (a recall's query) are cached; batches go straight to the model.
 *
 * The returned vectors are shared between callers: readers only.
 */
export class QueryEmbeddingCache implements Embedder {
  private readonly entries = new Map<string, Float32Array>();
  private readonly prefix: string;
  hits = 0;
  misses = 0;

  constructor(
    private readonly embedder: Embedder,
    private readonly maxEntries: number,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError("maxEntries must be an integer >= 0");
    this.prefix = `${identityKey(embedder.identity, embedder.dimensions)}\u0000`;
  }

  get dimensions(): number {
    return this.embedder.dimensions;
  }

  get identity(): Embedder["identity"] {
    return this.embedder.identity;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length !== 1 || this.maxEntries === 0) return this.embedder.embed(texts, signal);
    const key = this.prefix + texts[0]!;
    const cached = this.entries.get(key);
    if (cached) {
      this.hits++;
      // Re-insert: Map iteration order is the LRU order.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return [cached];
    }
    this.misses++;
    const [vector] = await this.embedder.embed(texts, signal);
    this.entries.set(key, vector!);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return [vector!];
  }
}
