import type { LongTermStore, UserWriteLock } from "./ports.js";
import type { Scope } from "./types.js";

/**
 * Records that memories were returned, off the request path: recalls only
 * queue ids; a timer writes them per user in one batched update. Where the
 * store has no atomic increment (Weaviate) and replicas share it, each
 * user's batch is written under the user's write lock, so two replicas'
 * flushes cannot overwrite each other's counts. A write that fails is
 * counted and dropped; access statistics are advisory, and a lost bump only
 * makes a memory look slightly less used.
 */
export class AccessTracker {
  private pending = new Map<string, { scope: Scope; counts: Map<string, number>; at: Date }>();
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
    if (ids.length === 0) return;
    const key = `${scope.namespace}\u0000${scope.userId}`;
    const entry = this.pending.get(key) ?? { scope, counts: new Map<string, number>(), at };
    for (const id of ids) entry.counts.set(id, (entry.counts.get(id) ?? 0) + 1);
    entry.at = at;
    this.pending.set(key, entry);
  }

  /** Writes everything queued so far. */
  flush(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.flushing.then(async () => {
      for (const entry of batch) {
        try {
          const write = () => this.store.recordAccess(entry.scope, entry.counts, entry.at);
          await (this.userWriteLock ? this.userWriteLock.hold(entry.scope, write) : write());
        } catch (error) {
          this.onError(error);
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
