import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { limits } from "./limits.js";
import type { LongTermStore } from "./ports.js";
import { scoreRetrieval, type RetrievalScore } from "./retrieval-feedback.js";
import { newRetrievalId, retrievalIdMaxBytes, type RetrievalLog, type RetrievalPurpose } from "./retrieval-log.js";
import type { Scope } from "./types.js";
import { requireId, requireScope } from "./validation.js";

export interface UsageEvents {
  /** Every report, either form: feeds the used rate. */
  usageReported?(report: { returned: number; used: number }): void;
  /** A retrieval could not be kept (its backend failed): it was returned without a retrieval id. */
  retrievalNotKept?(error: unknown): void;
  /** A report tied to a retrieval, scored by rank; once per retrieval. */
  retrievalScored?(report: { purpose: RetrievalPurpose; namespace: string; score: RetrievalScore }): void;
}

export interface UsageReport {
  readonly precision: number;
  /** Only with a retrieval id. */
  readonly score?: RetrievalScore;
  /** False when this retrieval was reported before (counted once). */
  readonly counted: boolean;
}

/**
 * Feedback on what the caller's LLM used: retrievals are recorded as they
 * are returned, and a report naming one is scored by the rank at which each
 * used memory was returned. The older form (bare returned ids) is kept: it
 * knows no ranks, so it yields precision only.
 */
export class UsageReporting {
  constructor(
    private readonly log: RetrievalLog,
    private readonly longTerm: LongTermStore,
    private readonly events: UsageEvents = {},
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Records what a retrieval returned (best first); "" when it returned
   * nothing (nothing to report on), or when the log's backend failed: the
   * memories still go to the caller, since feedback is bookkeeping and must
   * not turn a working recall into an outage.
   */
  async record(scope: Scope, purpose: RetrievalPurpose, memoryIds: readonly string[]): Promise<string> {
    if (memoryIds.length === 0) return "";
    const id = newRetrievalId();
    try {
      await this.log.put({
        id,
        namespace: scope.namespace,
        userId: scope.userId,
        purpose,
        memoryIds: [...memoryIds],
        createdAtMs: this.clock(),
      });
    } catch (error) {
      this.events.retrievalNotKept?.(error);
      return "";
    }
    return id;
  }

  async report(
    scope: Scope,
    request: { retrievalId: string; returnedIds: readonly string[]; usedIds: readonly string[] },
  ): Promise<UsageReport> {
    requireScope(scope);
    if (request.usedIds.length > limits.topKMax) {
      throw new InvalidArgumentError("used_ids", `must name at most ${limits.topKMax} memories`);
    }
    if (request.retrievalId === "") return this.reportIds(scope, request.returnedIds, request.usedIds);
    if (request.returnedIds.length > 0) {
      throw new InvalidArgumentError(
        "returned_ids",
        "must be empty with retrieval_id (the server knows what that retrieval returned)",
      );
    }
    if (Buffer.byteLength(request.retrievalId) > retrievalIdMaxBytes) {
      throw new InvalidArgumentError("retrieval_id", `must be at most ${retrievalIdMaxBytes} bytes`);
    }
    const entry = await this.log.get(scope, request.retrievalId, this.clock());
    if (!entry) {
      throw new NotFoundError(
        "retrieval",
        request.retrievalId,
        `retrievals are kept ${Math.round(this.log.ttlMs / 1000)} s in ${this.log.where}, for the scope that made them; ` +
          "report sooner after the Recall or AssembleContext, send it to the same scope, " +
          "or send returned_ids without retrieval_id",
      );
    }
    const score = scoreRetrieval(entry.memoryIds, request.usedIds);
    if ("notReturned" in score) {
      const i = score.notReturned;
      throw new InvalidArgumentError(`used_ids[${i}]`, `"${request.usedIds[i]}" was not returned by this retrieval`);
    }
    // Only a valid report marks the retrieval: a refused one leaves it to be reported properly.
    const first = await this.log.markReported(scope, request.retrievalId);
    if (first) {
      this.events.usageReported?.({ returned: score.returned, used: score.used });
      this.events.retrievalScored?.({ purpose: entry.purpose, namespace: scope.namespace, score });
    }
    return { precision: score.precision, score, counted: first };
  }

  /**
   * The older form: every id must be a memory of this user, so one tenant
   * cannot skew another's figures (an id of someone else's is NOT_FOUND,
   * like one that never existed).
   */
  private async reportIds(
    scope: Scope,
    returnedIds: readonly string[],
    usedIds: readonly string[],
  ): Promise<UsageReport> {
    if (returnedIds.length === 0) {
      throw new InvalidArgumentError("returned_ids", "must name at least one memory (or send retrieval_id)");
    }
    if (returnedIds.length > limits.topKMax) {
      throw new InvalidArgumentError("returned_ids", `must name at most ${limits.topKMax} memories`);
    }
    returnedIds.forEach((id, i) => requireId(id, `returned_ids[${i}]`));
    const returned = new Set(returnedIds);
    const used = new Set<string>();
    usedIds.forEach((id, i) => {
      if (!returned.has(id)) throw new InvalidArgumentError(`used_ids[${i}]`, `"${id}" is not among returned_ids`);
      used.add(id);
    });
    const ids = [...returned];
    const found = await Promise.all(ids.map((id) => this.longTerm.get(scope, id)));
    const missing = ids.find((_, i) => found[i] === undefined);
    if (missing !== undefined) throw new NotFoundError("memory", missing);
    this.events.usageReported?.({ returned: returned.size, used: used.size });
    return { precision: used.size / returned.size, counted: true };
  }
}
