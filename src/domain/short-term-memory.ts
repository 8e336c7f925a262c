import { randomUUID } from "node:crypto";
import type { SessionStore } from "./ports.js";
import { planCompaction, type CompactionPolicy } from "./compaction.js";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { limits } from "./limits.js";
import type { Summariser } from "./models.js";
import { countTokensEach } from "./tokenizer.js";
import { appendFingerprint } from "./append-fingerprint.js";
import type { MessageInput, NewMessage, Scope, SessionSnapshot } from "./types.js";
import {
  requireId,
  requireIntInRange,
  requireMetadata,
  requireNotFuture,
  requireScope,
  requireText,
} from "./validation.js";

export interface ShortTermOptions {
  readonly sessionTtlSeconds: number;
  readonly compaction: CompactionPolicy;
  /** Upper bound for a session summary's tokens. */
  readonly summaryMaxTokens: number;
}

/** What short-term memory reports besides its return values (metrics, logs). */
export interface ShortTermEvents {
  compacted?(info: { foldedMessages: number; tokensBefore: number; tokensAfter: number }): void;
  compactionFailed?(error: unknown): void;
}

export interface AppendOutcome {
  readonly messageIds: readonly string[];
  readonly tokenCount: number;
  readonly messageCount: number;
  readonly compacted: boolean;
  /** The idempotency key had been seen: nothing was appended. */
  readonly replayed: boolean;
}

/** How often a compaction re-plans after losing a race before leaving it to the winner. */
const compactionAttempts = 3;

/**
 * A session's messages. Appends are one atomic store operation; compaction
 * runs after the append is acknowledged by the store, summarises outside any
 * lock, and commits only if the session's summary is still the one it
 * planned from, so concurrent appends survive and concurrent compactions of
 * one session (other replicas) apply once.
 */
export class ShortTermMemory {
  constructor(
    private readonly store: SessionStore,
    private readonly summariser: Summariser,
    private readonly options: ShortTermOptions,
    private readonly events: ShortTermEvents = {},
  ) {}

  async append(
    scope: Scope,
    sessionId: string,
    inputs: readonly MessageInput[],
    signal?: AbortSignal,
    idempotencyKey = "",
  ): Promise<AppendOutcome> {
    requireScope(scope);
    requireId(sessionId, "session_id");
    if (idempotencyKey !== "") requireId(idempotencyKey, "idempotency_key");
    if (inputs.length === 0) throw new InvalidArgumentError("messages", "must contain at least one message");
    if (inputs.length > limits.messagesPerAppend) {
      throw new InvalidArgumentError("messages", `must contain at most ${limits.messagesPerAppend} messages`);
    }
    const createdAt = new Date();
    const occurredAt = inputs.map((input, i) => {
      requireText(input.content, `messages[${i}].content`, limits.messageContentBytes);
      requireMetadata(input.metadata, `messages[${i}].metadata`);
      return requireNotFuture(input.occurredAt, `messages[${i}].occurred_at`, createdAt) ?? createdAt;
    });
    const tokenCounts = await countTokensEach(
      inputs.map((input) => input.content),
      signal,
    );
    const messages: NewMessage[] = inputs.map((input, i) => ({
      ...input,
      id: randomUUID(),
      tokenCount: tokenCounts[i]!,
      createdAt,
      occurredAt: occurredAt[i]!,
    }));
    const fingerprint = appendFingerprint(inputs);
    const appended = await this.store.append(
      scope,
      sessionId,
      messages,
      this.options.sessionTtlSeconds,
      idempotencyKey === "" ? undefined : { key: idempotencyKey, fingerprint },
    );
    // A key reused for different messages is a caller's bug: answering the first append's
    // replay would drop the new messages without a word.
    if (appended.replayed && appended.replayedFingerprint && appended.replayedFingerprint !== fingerprint) {
      throw new InvalidArgumentError(
        "idempotency_key",
        `"${idempotencyKey}" was already used in this session for different messages; ` +
          "send new messages with a new key (reuse a key only to retry the same append)",
      );
    }
    let outcome: AppendOutcome = {
      messageIds: appended.messageIds,
      tokenCount: appended.tokenCount,
      messageCount: appended.messageCount,
      compacted: false,
      replayed: appended.replayed,
    };
    if (!appended.replayed && appended.tokenCount > this.options.compaction.tokenLimit) {
      try {
        const after = await this.compact(scope, sessionId, signal);
        if (after)
          outcome = { ...outcome, tokenCount: after.tokenCount, messageCount: after.messages.length, compacted: true };
      } catch (error) {
        // The messages are stored; a failed compaction is retried by the next append.
        this.events.compactionFailed?.(error);
      }
    }
    return outcome;
  }

  /** Compacts the session if it is over its limit; the session after, or undefined if nothing was applied. */
  async compact(scope: Scope, sessionId: string, signal?: AbortSignal): Promise<SessionSnapshot | undefined> {
    for (let attempt = 0; attempt < compactionAttempts; attempt++) {
      signal?.throwIfAborted();
      const snapshot = await this.store.read(scope, sessionId);
      if (!snapshot) return undefined;
      const plan = planCompaction(snapshot.messages, snapshot.tokenCount, this.options.compaction);
      if (!plan) return undefined;
      const folded = snapshot.messages.slice(0, plan.foldCount);
      const summary = await this.summariser.summarise(
        snapshot.summary?.content ?? "",
        folded.map((m) => ({ role: m.role, content: m.content })),
        this.options.summaryMaxTokens,
        signal,
      );
      const outcome = await this.store.commitCompaction(scope, sessionId, {
        expectedSummarizedThrough: snapshot.summary?.summarizedThroughSequence ?? 0,
        throughSequence: plan.throughSequence,
        firstFoldedId: folded[0]!.id,
        lastFoldedId: folded.at(-1)!.id,
        summary,
        summaryTokenCount: (await countTokensEach([summary], signal))[0]!,
      });
      if (outcome === "committed") {
        const after = await this.store.read(scope, sessionId);
        this.events.compacted?.({
          foldedMessages: plan.foldCount,
          tokensBefore: snapshot.tokenCount,
          tokensAfter: after?.tokenCount ?? 0,
        });
        return after;
      }
    }
    return undefined;
  }

  async get(scope: Scope, sessionId: string, limit: number): Promise<SessionSnapshot> {
    requireScope(scope);
    requireId(sessionId, "session_id");
    requireIntInRange(limit, "limit", 0, limits.getMessagesLimit);
    const snapshot = await this.store.read(scope, sessionId);
    if (!snapshot) throw new NotFoundError("session", sessionId);
    return limit > 0 && snapshot.messages.length > limit
      ? { ...snapshot, messages: snapshot.messages.slice(-limit) }
      : snapshot;
  }

  /** Reads a session for assembly; undefined when there is none. */
  async peek(scope: Scope, sessionId: string): Promise<SessionSnapshot | undefined> {
    return this.store.read(scope, sessionId);
  }

  async end(scope: Scope, sessionId: string): Promise<number> {
    requireScope(scope);
    requireId(sessionId, "session_id");
    const count = await this.store.delete(scope, sessionId);
    if (count === undefined) throw new NotFoundError("session", sessionId);
    return count;
  }
}
