import { UnavailableError } from "./errors.js";
import { AccessWriteIncomplete, PendingAccess } from "./pending-access.js";
import type { LongTermStore, UserWriteLock } from "./ports.js";
import type { Scope } from "./types.js";

/**
 * The most (user, memory) pairs kept for a retry while the store is away:
 * about 100 bytes each, so at most some 10 MiB.
 */
const maxPendingMemories = 100_000;

/**
 * Records that memories were returned, off the request path: recalls only
 * queue ids (PendingAccess coalesces them per user); a timer writes them per
 * user in one batched update, and `close` writes what is left. Where the
 * store has no atomic increment (Weaviate) and replicas share it, each
 * user's batch is written under the user's write lock, so two replicas'
 * flushes cannot overwrite each other's counts.
 *
 * Access counts are eventually consistent: a recall's returns show in
 * GetMemory after the next flush (ENGRAM_ACCESS_FLUSH_MS). A write refused
 * because the store is unavailable is queued again for the next flush,
 * within `maxPendingMemories`; any other failure is reported and dropped
 * (access statistics are advisory, and a lost bump only makes a memory look
 * slightly less used).
 */
export class AccessTracker {
  private readonly pending = new PendingAccess(maxPendingMemories);
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LongTermStore,
    flushIntervalMs: number,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly userWriteLock?: UserWriteLock,
  ) {
    this.timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.timer.unref();
  }

  record(scope: Scope, ids: readonly string[], at: Date): void {
    this.pending.record(scope, ids, at);
  }

  /** Writes everything queued so far, after any flush still running. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      for (const batch of this.pending.take()) {
        try {
          const write = () => this.store.recordAccess(batch.scope, batch.counts, batch.at);
          await (this.userWriteLock ? this.userWriteLock.hold(batch.scope, write) : write());
        } catch (error) {
          this.onError(error);
          const partial = error instanceof AccessWriteIncomplete;
          if ((partial ? error.cause : error) instanceof UnavailableError) {
            const dropped = this.pending.restore(partial ? { ...batch, counts: error.unapplied } : batch);
            if (dropped > 0) this.onError(new Error(`access statistics of ${dropped} memories dropped: queue full`));
          }
        }
      }
    });
    return this.flushing;
  }

  /** Stops the timer and writes what is queued (one attempt: the process is ending). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
