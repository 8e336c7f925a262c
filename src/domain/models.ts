/**
 * The model-backed parts of the domain, as small interfaces. Engram ships
 * local, deterministic implementations (the default: no network, no key)
 * and OpenAI-compatible ones; the domain sees only these.
 */
export interface Embedder {
  /** Length of every vector this embedder returns. */
  readonly dimensions: number;
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
