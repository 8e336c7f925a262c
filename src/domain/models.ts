/**
 * The model-backed parts of the domain, as small interfaces. Engram ships
 * local, deterministic implementations (the default: no network, no key)
 * and OpenAI-compatible ones; the domain sees only these.
 */
/**
 * Which model made a vector. Vectors of two models live in different
 * spaces even at the same length, so a store records the identity of the
 * embedder that filled it and refuses another (`engram reembed` moves a
 * store from one to the other).
 */
export interface EmbedderIdentity {
  /** Where the model runs: "local", "openai", "onnx", ... */
  readonly provider: string;
  /** The model's name, e.g. "text-embedding-3-small". */
  readonly model: string;
  /** The model's version where the name does not pin it (a local embedder's algorithm); "" if it does. */
  readonly version: string;
}

/** The identity as one string, as stores record it, e.g. "local/trigram-hash@1/256". */
export function identityKey(identity: EmbedderIdentity, dimensions: number): string {
  return `${identity.provider}/${identity.model}${identity.version ? `@${identity.version}` : ""}/${dimensions}`;
}

/** Is thrown if a store holds vectors of another embedder than the configured one (at start-up). */
export class EmbedderMismatchError extends Error {
  override name = "EmbedderMismatchError";

  constructor(where: string, stored: string, configured: string) {
    super(
      `${where} holds vectors made by embedder "${stored}" but the configured embedder is "${configured}": ` +
        "run `engram reembed` with the new configuration to re-embed every memory (resumable), " +
        "or configure the embedder that made them",
    );
  }
}

export interface Embedder {
  /** Length of every vector this embedder returns. */
  readonly dimensions: number;
  /** Provider, model and version: what a store checks its vectors against. */
  readonly identity: EmbedderIdentity;
  /** One unit-length vector per text, in order. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

export interface SummaryLine {
  readonly role: string;
  readonly content: string;
}

export interface Summariser {
  /**
   * Folds `lines` into `previous` (the session's summary so far, possibly
   * empty) and returns the new summary, at most about `maxTokens` tokens.
   */
  summarise(previous: string, lines: readonly SummaryLine[], maxTokens: number, signal?: AbortSignal): Promise<string>;
}
