import type { GateDecision, MemoryIntake } from "./memory-intake.js";
import type { ExtractionMessage, Extractor } from "./models.js";
import { scanPii } from "./pii.js";
import type { Scope, SessionSnapshot, StoredMessage } from "./types.js";

/** Earlier messages shown to the model as context for a batch (already learnt from). */
const contextMessages = 8;

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
    const statements = await this.extractor.extract(
      {
        summary: scanPii(snapshot.summary?.content ?? "").redacted,
        context: context.map(redacted),
        messages: messages.map(redacted),
      },
      signal,
    );
    if (statements.length === 0) return [];
    return this.intake.learnStatements(scope, sessionId, statements, new Map(batch.map((m) => [m.id, m])), signal);
  }
}
