import type { Embedder, EmbedderIdentity } from "../domain/models.js";
import { timeSlicer } from "../domain/time-slice.js";

/**
 * A deterministic embedder that needs no model: words, word bigrams and
 * character trigrams hashed into a fixed number of signed dimensions
 * ("feature hashing"), then L2-normalised. Texts that share words and word
 * fragments land close together, which is what recall needs from a default
 * that runs anywhere; a real embedding model is one setting away.
 */
export class LocalEmbedder implements Embedder {
  /** Bump `version` whenever the hashing changes: stored vectors then no longer match. */
  readonly identity: EmbedderIdentity = { provider: "local", model: "feature-hashing", version: "1" };

  constructor(readonly dimensions: number) {
    if (!Number.isInteger(dimensions) || dimensions < 16) throw new RangeError("dimensions must be an integer >= 16");
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    // An import sends up to 1,000 texts of 8 KiB: yield to other callers between slices of work.
    const pause = timeSlicer(signal);
    const vectors: Float32Array[] = [];
    for (const text of texts) {
      await pause();
      vectors.push(this.embedOne(text));
    }
    return vectors;
  }

  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dimensions);
    const words = tokenize(text);
    const content = words.filter((w) => !stopWords.has(w));
    for (const word of content) {
      this.add(vector, `w:${word}`, 1);
      const padded = `^${word}$`;
      for (let i = 0; i + 3 <= padded.length; i++) this.add(vector, `c:${padded.slice(i, i + 3)}`, 0.35);
    }
    for (let i = 0; i + 1 < content.length; i++) this.add(vector, `b:${content[i]} ${content[i + 1]}`, 0.5);
    normalise(vector);
    return vector;
  }

  private add(vector: Float32Array, feature: string, weight: number): void {
    const hash = fnv1a(feature);
    const index = hash % this.dimensions;
    // A second, independent bit picks the sign so collisions cancel out
    // on average instead of piling up.
    const sign = (fnv1a(`s:${feature}`) & 1) === 0 ? 1 : -1;
    vector[index] = vector[index]! + sign * weight;
  }
}

export function tokenize(text: string): string[] {
  return (
    text
      .toLowerCase()
      .normalize("NFKC")
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function normalise(vector: Float32Array): void {
  let sum = 0;
  for (const v of vector) sum += v * v;
  if (sum === 0) return;
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! * scale;
}

const stopWords = new Set(
  (
    "a an and are as at be but by for from has have i i'm in is it its me my of on or so that the this to was were " +
    "will with you your we our they their he she his her them do does did can could would should what which who how"
  ).split(" "),
);
