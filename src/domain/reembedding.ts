import type { Embedder } from "./models.js";
import type { LongTermStore } from "./ports.js";
import type { Scope } from "./types.js";

export interface ReembedProgress {
  /** Users finished in this run, and memories re-embedded in this run. */
  readonly users: number;
  readonly memories: number;
  /** Users a previous run had already finished (skipped). */
  readonly skipped: number;
}

/** A user as the checkpoint records it. */
export const userKey = (scope: Scope) => `${scope.namespace}\u0000${scope.userId}`;

/**
 * Re-embeds every memory of the store with `embedder`, user by user, in
 * batches of `batchSize`: content is embedded again and written back with
 * `update` (access statistics untouched). Users in `done` were finished by an
 * earlier run and are skipped; `userDone` is called after each user, so a
 * caller can checkpoint and an interrupted run resumes where it stopped.
 * Run it with writers stopped: a memory written meanwhile by the old
 * embedder, in a user already done, would keep its old vector.
 */
export async function reembedStore(
  store: LongTermStore,
  embedder: Embedder,
  options: {
    batchSize: number;
    done: ReadonlySet<string>;
    userDone: (key: string, progress: ReembedProgress) => void | Promise<void>;
    signal?: AbortSignal;
  },
): Promise<ReembedProgress> {
  let users = 0;
  let memories = 0;
  let skipped = 0;
  for await (const scope of store.users(undefined)) {
    const key = userKey(scope);
    if (options.done.has(key)) {
      skipped++;
      continue;
    }
    for await (const batch of store.evictionCandidates(scope, options.batchSize)) {
      options.signal?.throwIfAborted();
      const records = (await Promise.all(batch.map((c) => store.get(scope, c.id)))).filter((r) => r !== undefined);
      const vectors = await embedder.embed(
        records.map((r) => r.content),
        options.signal,
      );
      for (const [i, record] of records.entries()) {
        // A memory deleted meanwhile is simply gone: update reports false.
        if (await store.update({ ...record, embedding: vectors[i]! })) memories++;
      }
    }
    users++;
    await options.userDone(key, { users, memories, skipped });
  }
  return { users, memories, skipped };
}
