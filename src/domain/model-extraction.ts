import type { GateDecision, MemoryIntake } from "./memory-intake.js";
import type { ExtractionMessage, Extractor, KnownMemory } from "./models.js";
import { scanPii } from "./pii.js";
import type { Scope, SessionSnapshot, StoredMessage } from "./types.js";

/** Earlier messages shown to the model as context for a batch (already learnt from). */
const contextMessages = 8;
/** Current memories shown to the model to judge new statements against. */
const knownMemories = 12;

/** The user's current memories closest to some texts (MemorySettlement.closest). */
export type KnownMemoryLookup = (
  scope: Scope,
  texts: readonly string[],
  limit: number,
  signal?: AbortSignal,
) => Promise<KnownMemory[]>;

/**
 * Learning from a batch of messages with a model: the batch, the messages
 * before it and the session summary, all redacted first, go to the
 * extractor in one call; the standalone statements it returns enter the one
 * intake pipeline. Used when an OpenAI-compatible model is configured; the
 * local default learns through the write gate's rules instead.
 */
export class ModelExtraction {
  constructor(
    private readonly extractor: Extractor,
    private readonly intake: MemoryIntake,
    private readonly known?: KnownMemoryLookup,
  ) {}

  async learn(
    scope: Scope,
    sessionId: string,
    snapshot: SessionSnapshot,
    batch: readonly StoredMessage[],
    signal?: AbortSignal,
  ): Promise<GateDecision[]> {
    const first = batch[0]!.sequence;
    const spoken = (m: StoredMessage) => m.role === "user" || m.role === "assistant";
    const context = snapshot.messages.filter((m) => m.sequence < first && spoken(m)).slice(-contextMessages);
    const messages = batch.filter(spoken);
    if (messages.length === 0) return [];
    // Raw personal data never reaches the model.
    const redacted = (m: StoredMessage): ExtractionMessage => ({
      id: m.id,
      role: m.role,
      name: m.name,
      content: scanPii(m.content).redacted,
      occurredAt: m.occurredAt,
    });
    // What the user already holds about these messages, so the model can say what each statement repeats,
    // refines or contradicts (stored memories were redacted when written).
    const memories = this.known
      ? await this.known(
          scope,
          messages.map((m) => scanPii(m.content).redacted),
          knownMemories,
          signal,
        )
      : [];
    const statements = await this.extractor.extract(
      {
        summary: scanPii(snapshot.summary?.content ?? "").redacted,
        memories,
        context: context.map(redacted),
        messages: messages.map(redacted),
      },
      signal,
    );
    if (statements.length === 0) return [];
    return this.intake.learnStatements(scope, sessionId, statements, new Map(batch.map((m) => [m.id, m])), signal);
  }
}
