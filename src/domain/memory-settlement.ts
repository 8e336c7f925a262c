import { randomUUID } from "node:crypto";
import type { AccessTracker } from "./access-tracker.js";
import { changeCue } from "./change-statements.js";
import { inferSubject, subjectGloss } from "./conflicts.js";
import { UnavailableError, type EngramError } from "./errors.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { Embedder, KnownMemory } from "./models.js";
import type { LongTermStore, UserWriteLock } from "./ports.js";
import { timeSlicer } from "./time-slice.js";
import {
  settlementSteps,
  withVersion,
  type EmbeddedMemory,
  type GatedMemory,
  type WriteResult,
} from "./settlement-plan.js";
import { withoutEmbedding, type Memory, type MemoryRecord, type Scope } from "./types.js";

export type { EmbeddedMemory, GatedMemory, WriteOutcome, WriteResult } from "./settlement-plan.js";
export { withVersion } from "./settlement-plan.js";

export interface SettlementOptions {
  /** New memories are refused (RESOURCE_EXHAUSTED) once a user holds this many; 0 for no limit. */
  readonly maxMemoriesPerUser: number;
  /** Serialises a user's writes across replicas that share the long-term store. */
  readonly userWriteLock?: UserWriteLock;
}

export interface SettlementEvents {
  superseded?(count: number): void;
}

/** Existing memories compared against a new one for duplicates and conflicts. */
const conflictCandidates = 10;
/** Conflict lookups in flight at once while settling a batch. */
const lookupConcurrency = 8;

/**
 * Writes memories that passed intake, settling conflicts with what the user
 * already holds (`resolveConflict`: by when things happened, not when Engram
 * heard of them). Every change to a stored memory keeps its previous version
 * in the memory's history.
 *
 * Settling is a read (what is stored) then a write that depends on it, so a
 * user's writes settle one at a time: two concurrent copies of one fact must
 * end as one memory, not two current versions. The embeddings, the slow
 * part, are computed before taking the user's turn; replicas sharing a
 * long-term store also take the user's shared write lock.
 *
 * A batch (an import, a session's extraction) settles in occurrence order
 * inside one turn: the conflict lookups against the store run concurrently
 * up front (the store cannot change during the turn), later items see
 * earlier ones through an in-memory overlay, and new memories are written
 * with one bulk insert.
 */
export class MemorySettlement {
  /** One settling write at a time per user, in this process. */
  private readonly settling = new KeyedMutex();

  constructor(
    private readonly store: LongTermStore,
    private readonly embedder: Embedder,
    private readonly access: AccessTracker,
    private readonly options: SettlementOptions,
    private readonly events: SettlementEvents = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async write(scope: Scope, input: GatedMemory, signal?: AbortSignal): Promise<WriteResult> {
    const [result] = await this.writeMany(scope, [input], signal);
    if (result instanceof Error) throw result;
    return result!;
  }

  /**
   * Settles a batch in occurrence order; one result per input, in input
   * order: what was written, or the domain error that refused that item.
   * The batch is embedded in one call (the embedder sends it in requests of
   * its size, e.g. ENGRAM_OPENAI_EMBEDDING_BATCH_SIZE).
   */
  async writeMany(
    scope: Scope,
    inputs: readonly GatedMemory[],
    signal?: AbortSignal,
  ): Promise<(WriteResult | EngramError)[]> {
    if (inputs.length === 0) return [];
    const items = inputs.map((input) => ({
      ...input,
      subject: input.subject || inferSubject(input.type, input.content),
    }));
    const embeddings = await this.embedder.embed(
      items.map((i) => embeddedText(i.content, i.subject, i.speaker)),
      signal,
    );
    return this.inUserTurn(
      scope,
      () => {
        signal?.throwIfAborted();
        return this.settle(
          scope,
          items.map((item, i) => ({ ...item, embedding: embeddings[i]! })),
          signal,
        );
      },
      signal,
    );
  }

  /**
   * Replaces a stored memory in the user's turn, keeping what it said
   * before in its history; `change` gets the stored record and returns the
   * new one (with its embedding). Undefined when there is no such memory.
   */
  async revise(
    scope: Scope,
    id: string,
    change: (stored: MemoryRecord) => MemoryRecord,
    signal?: AbortSignal,
  ): Promise<Memory | undefined> {
    return this.inUserTurn(
      scope,
      async () => {
        const stored = await this.store.get(scope, id);
        if (!stored) return undefined;
        const now = this.clock();
        const revised = withVersion({ ...change(stored), updatedAt: now }, stored, now, now);
        return (await this.store.update(revised)) ? withoutEmbedding(revised) : undefined;
      },
      signal,
    );
  }

  /**
   * The user's current memories closest to any of `texts` (cosine), best
   * first, at most `limit`: what a model is shown to judge new statements
   * against (ModelExtraction).
   */
  async closest(scope: Scope, texts: readonly string[], limit: number, signal?: AbortSignal): Promise<KnownMemory[]> {
    if (texts.length === 0) return [];
    const embeddings = await this.embedder.embed(texts, signal);
    const found = await mapConcurrently(embeddings, lookupConcurrency, (embedding, i) =>
      this.store.search(scope, {
        embedding,
        text: texts[i]!,
        alpha: 1,
        types: [],
        includeSuperseded: false,
        withEmbeddings: false,
        limit: Math.min(limit, conflictCandidates),
      }),
    );
    const best = new Map<string, { memory: KnownMemory; relevance: number }>();
    for (const { record, relevance } of found.flat()) {
      if ((best.get(record.id)?.relevance ?? -1) >= relevance) continue;
      best.set(record.id, { memory: { id: record.id, type: record.type, content: record.content }, relevance });
    }
    return [...best.values()]
      .sort((a, b) => b.relevance - a.relevance)
      .slice(0, limit)
      .map((b) => b.memory);
  }

  /** The text embedded for a memory: see embeddedText. */
  embed(content: string, subject: string, signal?: AbortSignal, speaker?: string): Promise<Float32Array> {
    return this.embedder.embed([embeddedText(content, subject, speaker)], signal).then(([e]) => e!);
  }

  /**
   * Erases the user's memories in the user's turn, so a write being settled
   * finishes before the erasure instead of landing after it.
   */
  forgetUser(scope: Scope): Promise<number> {
    return this.inUserTurn(scope, () => this.store.deleteUser(scope));
  }

  /** Runs `section` as the only long-term write of this user, in this replica and across replicas. */
  private inUserTurn<T>(scope: Scope, section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const lock = this.options.userWriteLock;
    // In-process order first, so a replica's own writers queue here instead of polling the shared lock.
    return this.settling.run(`${scope.namespace}\u0000${scope.userId}`, () =>
      lock ? lock.hold(scope, section, signal) : section(),
    );
  }

  /** Records whose text settlement rewrote (a correction applied), embedded by their new text. */
  private async embedRewritten(
    records: readonly MemoryRecord[],
    rewritten: ReadonlySet<string>,
    signal?: AbortSignal,
  ): Promise<readonly MemoryRecord[]> {
    if (rewritten.size === 0) return records;
    const changed = records.filter((r) => rewritten.has(r.id));
    const embeddings = await this.embedder.embed(
      changed.map((r) => embeddedText(r.content, r.subject, r.speaker)),
      signal,
    );
    const byId = new Map(changed.map((r, i) => [r.id, embeddings[i]!]));
    return records.map((r) => (byId.has(r.id) ? { ...r, embedding: byId.get(r.id)! } : r));
  }

  /** Looks up what each item may conflict with, plans the batch (`planSettlement`), then performs the plan. */
  private async settle(
    scope: Scope,
    items: readonly EmbeddedMemory[],
    signal?: AbortSignal,
  ): Promise<(WriteResult | EngramError)[]> {
    const now = this.clock();
    // A batch may be 1,000 items of 8 KiB: lookups and planning yield to other callers between slices of work.
    const pause = timeSlicer(signal);
    const existing = await mapConcurrently(items, lookupConcurrency, async (item) => {
      await pause();
      const hits = await this.store.search(scope, {
        embedding: item.embedding,
        text: item.content,
        // Cosine similarity itself: duplicates are recognised by a fixed threshold.
        alpha: 1,
        // A change statement may change a memory of any type ("I no longer drink coffee" an incidental episode).
        types: changeCue(item.content) || item.judged ? [] : [item.type],
        includeSuperseded: false,
        limit: conflictCandidates,
      });
      // The memories a model judged this one against, wherever the search ranked them.
      const missing = (item.judged?.memoryIds ?? []).filter((id) => !hits.some((h) => h.record.id === id));
      const judged = await Promise.all(missing.map((id) => this.store.get(scope, id)));
      return [...hits, ...judged.flatMap((record) => (record ? [{ record, relevance: 1 }] : []))];
    });
    const max = this.options.maxMemoriesPerUser;
    const room = max > 0 ? max - (await this.store.count(scope)) : Number.POSITIVE_INFINITY;
    const steps = settlementSteps(items, existing, { scope, room, maxMemoriesPerUser: max, now, newId: randomUUID });
    let step = steps.next();
    for (; !step.done; step = steps.next()) await pause();
    const plan = step.value;
    const results: (WriteResult | EngramError)[] = [...plan.results];
    let updates = plan.updates;
    const inserts = await this.embedRewritten(plan.inserts, new Set(plan.rewritten), signal);
    const { failed } = await this.store.insertMany(inserts);
    if (failed.length > 0) {
      // Rare (a backend refusing one object): those items fail, and nothing may point at them.
      const failedIds = new Map(failed.map((f) => [f.id, f.error]));
      for (const [i, result] of results.entries()) {
        if (!(result instanceof Error) && failedIds.has(result.memory.id) && result.outcome !== "merged") {
          results[i] = new UnavailableError("long-term store", failedIds.get(result.memory.id)!);
        }
      }
      updates = updates.filter((r) => !(r.supersededBy && failedIds.has(r.supersededBy)));
    }
    for (const record of updates) await this.store.update(record);
    // Being told again is a use: counted like a recall, through the atomic access path.
    if (plan.retold.length > 0) this.access.record(scope, plan.retold, now);
    if (plan.superseded > 0) this.events.superseded?.(plan.superseded);
    return results;
  }
}

/**
 * The text a memory is embedded (and so found) by: who said it, what was
 * said, and for an inferred subject the words that describe it, so "what
 * did Maya say about Porto" and "a script" (for "I switched to Go") both
 * reach it.
 */
function embeddedText(content: string, subject: string, speaker?: string): string {
  const said = speaker ? `${speaker}: ${content}` : content;
  return subject ? `${said}\n${subjectGloss(subject)}` : said;
}

async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
