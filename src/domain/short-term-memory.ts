import { randomUUID } from "node:crypto";
import type { SessionStore } from "./ports.js";
import { planCompaction, type CompactionPolicy } from "./compaction.js";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { limits } from "./limits.js";
import type { Summariser } from "./models.js";
import { countTokens, countTokensEach, truncateToTokens } from "./tokenizer.js";
import { appendFingerprint } from "./append-fingerprint.js";
import type { MessageInput, NewMessage, Scope, SessionSnapshot } from "./types.js";
import {
  requireId,
  requireIntInRange,
  requireMetadata,
  requireNotFuture,
  requireScope,
  requireSpeakerName,
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
  /** A summary came back longer than ENGRAM_SUMMARY_MAX_TOKENS and was cut. */
  summaryTruncated?(tokens: number): void;
}

/** Queues background work for a session past its token limit (compaction, learning from what it folds). */
export type CompactionScheduler = (scope: Scope, sessionId: string) => Promise<void>;

export interface AppendOutcome {
  readonly messageIds: readonly string[];
  readonly tokenCount: number;
  readonly messageCount: number;
  /** The session passed its token limit: a compaction was queued (it runs in the background). */
  readonly compacted: boolean;
  /** The idempotency key had been seen: nothing was appended. */
  readonly replayed: boolean;
}

/** How often a compaction re-plans after losing a race before leaving it to the winner. */
const compactionAttempts = 3;

/**
 * A session's messages. Appends are one atomic store operation and never
 * wait on a model: past the token limit they queue a compaction, which runs
 * in the background (see session-learning.ts), summarises outside any lock,
 * folds only messages already learnt from, and commits only if the session's
 * summary is still the one it planned from, so concurrent appends survive
 * and concurrent compactions of one session (other replicas) apply once.
 */
export class ShortTermMemory {
  constructor(
    private readonly store: SessionStore,
    private readonly summariser: Summariser,
    private readonly options: ShortTermOptions,
    private readonly events: ShortTermEvents = {},
    private readonly scheduleCompaction: CompactionScheduler = async () => {},
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
      requireSpeakerName(input.name ?? "", `messages[${i}].name`);
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
        await this.scheduleCompaction(scope, sessionId);
        outcome = { ...outcome, compacted: true };
      } catch (error) {
        // The messages are stored; the next append (or the idle sweep) queues the work again.
        this.events.compactionFailed?.(error);
      }
    }
    return outcome;
  }

  /** Where a compaction of this session would fold through now; undefined while it fits. */
  plan(snapshot: SessionSnapshot): number | undefined {
    return planCompaction(snapshot.messages, snapshot.tokenCount, this.options.compaction)?.throughSequence;
  }

  /**
   * Compacts the session if it is over its limit, folding only messages
   * already learnt from (the extraction watermark), so nothing is deleted
   * before long-term memory has seen it. The session after, or undefined if
   * nothing was applied.
   */
  async compact(scope: Scope, sessionId: string, signal?: AbortSignal): Promise<SessionSnapshot | undefined> {
    for (let attempt = 0; attempt < compactionAttempts; attempt++) {
      signal?.throwIfAborted();
      const snapshot = await this.store.read(scope, sessionId);
      if (!snapshot) return undefined;
      const planned = planCompaction(snapshot.messages, snapshot.tokenCount, this.options.compaction);
      if (!planned) return undefined;
      const learnt = snapshot.messages.filter((m) => m.sequence <= snapshot.extractedThroughSequence).length;
      const foldCount = Math.min(planned.foldCount, learnt);
      if (foldCount === 0) return undefined;
      const plan = { foldCount, throughSequence: snapshot.messages[foldCount - 1]!.sequence };
      const folded = snapshot.messages.slice(0, plan.foldCount);
      const max = this.options.summaryMaxTokens;
      const produced = await this.summariser.summarise(
        snapshot.summary?.content ?? "",
        folded.map((m) => ({ role: m.role, content: m.content })),
        max,
        signal,
      );
      // Models overrun what they are asked for; the limit is the operator's, so it holds.
      const summary = truncateToTokens(produced, max);
      if (summary !== produced) this.events.summaryTruncated?.(countTokens(produced));
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
