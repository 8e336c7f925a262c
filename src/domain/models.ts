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
  /** Releases what the embedder holds (a model's worker thread); called on shutdown. */
  close?(): Promise<void>;
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

/** A session message as an extractor sees it (already redacted). */
export interface ExtractionMessage {
  readonly id: string;
  readonly role: string;
  /** Who spoke, when the message names a speaker. */
  readonly name?: string | undefined;
  readonly content: string;
  readonly occurredAt: Date;
}

/** A current memory of the user shown to an extractor, so it can say what a new statement repeats or changes. */
export interface KnownMemory {
  readonly id: string;
  readonly type: "episodic" | "semantic" | "preference";
  readonly content: string;
}

export interface ExtractionInput {
  /** The session's summary of what came before (possibly empty). */
  readonly summary: string;
  /** The user's current memories closest to the messages (redacted like them); may be empty. */
  readonly memories?: readonly KnownMemory[];
  /** Messages before the new ones, already learnt from: context, not to be extracted again. */
  readonly context: readonly ExtractionMessage[];
  /** The messages to learn from. */
  readonly messages: readonly ExtractionMessage[];
}

/** One standalone statement worth remembering, as an extractor returns it. */
export interface ExtractedStatement {
  /** Third person, understandable without the conversation ("The user prefers aisle seats"). */
  readonly content: string;
  readonly type: "episodic" | "semantic" | "preference";
  readonly importance: number;
  /** What it is about, e.g. "seat preference"; empty when none. */
  readonly subject: string;
  /** When it happened or became true, if the conversation says. */
  readonly occurredAt: Date | undefined;
  /** The new messages it was drawn from (a subset of the input's ids). */
  readonly messageIds: readonly string[];
  /**
   * What it does to the current memories shown (`ExtractionInput.memories`):
   * repeats them (same information), refines them (same, more detail) or
   * contradicts them (they are no longer true); `memoryIds` names them.
   */
  readonly relation?: { readonly kind: StatementRelation; readonly memoryIds: readonly string[] };
}

export type StatementRelation = "repeats" | "refines" | "contradicts";

/**
 * Turns a batch of conversation into standalone memories, in one call:
 * corrections and confirmations in context decide what is true.
 */
export interface Extractor {
  extract(input: ExtractionInput, signal?: AbortSignal): Promise<ExtractedStatement[]>;
}

/**
 * Is thrown if a model's output does not match what was asked for even after
 * a retry; the batch is dropped (and counted) rather than half-applied.
 */
export class MalformedModelOutputError extends Error {
  override name = "MalformedModelOutputError";
}
