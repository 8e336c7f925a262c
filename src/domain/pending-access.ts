import type { Scope } from "./types.js";

/** One user's queued access statistics: how often each memory was returned, and the latest time. */
export interface AccessBatch {
  readonly scope: Scope;
  readonly counts: Map<string, number>;
  at: Date;
}

/**
 * Is thrown by a store's recordAccess that applied part of a batch (one
 * write per memory, some failed): `unapplied` holds the counts it did not
 * write, so a retry adds nothing twice. `cause` is why.
 */
export class AccessWriteIncomplete extends Error {
  constructor(
    readonly unapplied: Map<string, number>,
    cause: unknown,
  ) {
    // The cause stays out of the message: adapters classify errors by their message.
    super(`access statistics of ${unapplied.size} memories not written`, { cause });
  }
}

/**
 * Recall's access statistics waiting to be written, coalesced per user: any
 * number of recalls between two flushes become one batch per user, each
 * memory's returns summed and the latest time kept. Pure bookkeeping; the
 * AccessTracker does the writing.
 *
 * Invariant: a return recorded here is either taken exactly once by `take`
 * or, after a failed write given back by `restore`, taken again; it is only
 * dropped when a restore would hold more than `maxMemories` memories, and
 * `restore` says how many were.
 */
export class PendingAccess {
  private batches = new Map<string, AccessBatch>();
  private memories = 0;

  /** `maxMemories`: the most (user, memory) pairs held at once, so an outage cannot grow this without end. */
  constructor(private readonly maxMemories: number) {}

  /** Memories queued, across users. */
  get size(): number {
    return this.memories;
  }

  record(scope: Scope, ids: readonly string[], at: Date): void {
    if (ids.length === 0) return;
    const batch = this.batchOf(scope, at);
    for (const id of ids) this.add(batch, id, 1);
    if (at.getTime() > batch.at.getTime()) batch.at = at;
  }

  /** Everything queued, one batch per user, leaving nothing queued. */
  take(): AccessBatch[] {
    const taken = [...this.batches.values()];
    this.batches = new Map();
    this.memories = 0;
    return taken;
  }

  /**
   * A batch whose write failed, queued again (merged with whatever was
   * recorded since) for the next flush. Returns the number of memories left
   * out because the bound was reached (0 normally).
   */
  restore(failed: AccessBatch): number {
    const batch = this.batchOf(failed.scope, failed.at);
    if (failed.at.getTime() > batch.at.getTime()) batch.at = failed.at;
    let dropped = 0;
    for (const [id, count] of failed.counts) {
      if (!batch.counts.has(id) && this.memories >= this.maxMemories) dropped++;
      else this.add(batch, id, count);
    }
    if (batch.counts.size === 0) this.batches.delete(keyOf(failed.scope));
    return dropped;
  }

  private batchOf(scope: Scope, at: Date): AccessBatch {
    const key = keyOf(scope);
    let batch = this.batches.get(key);
    if (!batch) this.batches.set(key, (batch = { scope, counts: new Map(), at }));
    return batch;
  }

  private add(batch: AccessBatch, id: string, count: number): void {
    const before = batch.counts.get(id);
    if (before === undefined) this.memories++;
    batch.counts.set(id, (before ?? 0) + count);
  }
}

function keyOf(scope: Scope): string {
  return `${scope.namespace}\u0000${scope.userId}`;
}
