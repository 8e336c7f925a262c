import { BatchCandidates } from "./batch-candidates.js";
import { changeCue } from "./change-statements.js";
import { addsWords, resolveConflict, type IncomingMemory } from "./conflicts.js";
import { ResourceExhaustedError } from "./errors.js";
import { limits } from "./limits.js";
import type { MemoryHit } from "./ports.js";
import { withoutEmbedding, type Memory, type MemoryRecord, type MemoryVersion, type Scope } from "./types.js";

/**
 * Memories of the batch itself an item is compared with (besides the
 * store's): as many as the store's lookup returns (see BatchCandidates).
 */
const batchCandidates = 10;

/** A memory that passed intake (redacted, gated), with its importance and time settled. */
export type GatedMemory = Pick<
  Memory,
  "type" | "content" | "importance" | "metadata" | "subject" | "pinned" | "occurredAt" | "source" | "speaker"
> & {
  /** As in a source system being imported; Engram's own writes leave these unset (now, never accessed). */
  readonly createdAt?: Date;
  readonly lastAccessedAt?: Date;
  readonly accessCount?: number;
  /** A model's judgement of which current memories it repeats, refines or contradicts (see IncomingMemory). */
  readonly judged?: IncomingMemory["judged"];
  /** The caller stated no time: `occurredAt` is when a replica received it, and it happens when settled (see `told`). */
  readonly undated?: boolean;
};

/** A gated memory with its embedding: what settlement compares and stores. */
export type EmbeddedMemory = GatedMemory & { readonly embedding: Float32Array };

export type WriteOutcome = "created" | "merged" | "updated" | "superseded_older" | "stored_as_history";

export interface WriteResult {
  readonly memory: Memory;
  readonly outcome: WriteOutcome;
  readonly supersededIds: readonly string[];
}

export interface PlanContext {
  readonly scope: Scope;
  /** New memories the user may still hold (the quota minus what they hold); Infinity for no limit. */
  readonly room: number;
  /** The quota itself, named in the refusal. */
  readonly maxMemoriesPerUser: number;
  readonly now: Date;
  readonly newId: () => string;
}

/** What settling a batch does; the caller performs it. */
export interface SettlementPlan {
  /** One per item, in item order: what it became, or why it was refused. */
  readonly results: readonly (WriteResult | ResourceExhaustedError)[];
  /** New records, to insert (in one bulk insert). */
  readonly inserts: readonly MemoryRecord[];
  /** Stored records changed by the batch (merged into, updated, superseded), to update. */
  readonly updates: readonly MemoryRecord[];
  /** Stored memories told again: a use, counted like a recall. */
  readonly retold: readonly string[];
  /** New records whose text is not their item's (a correction applied): to embed again before inserting. */
  readonly rewritten: readonly string[];
  /** How many memories the batch superseded. */
  readonly superseded: number;
}

/**
 * Settles a batch against what the user holds, without I/O: `existing[i]`
 * is the store's current memories most similar to `items[i]` (cosine
 * relevance). Items settle in occurrence order; later ones see earlier ones
 * (new records by cosine, changed stored ones in their changed form).
 * Decisions are `resolveConflict`'s; this builds the records they imply,
 * keeping every replaced version in history.
 */
export function planSettlement(
  items: readonly EmbeddedMemory[],
  existing: readonly (readonly MemoryHit[])[],
  context: PlanContext,
): SettlementPlan {
  const steps = settlementSteps(items, existing, context);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * `planSettlement` one item at a time: the generator pauses after each item
 * so a caller can yield to the event loop between them (a batch may be 1,000
 * memories of 8 KiB); its return value is the plan.
 */
export function* settlementSteps(
  batch: readonly EmbeddedMemory[],
  existing: readonly (readonly MemoryHit[])[],
  context: PlanContext,
): Generator<void, SettlementPlan> {
  const { scope, now } = context;
  const items = told(batch, existing, now);
  let room = context.room;
  /** The batch's view of the user's memories: new ones (to insert) and changed stored ones (to update). */
  const created = new BatchCandidates(batchCandidates);
  const changed = new Map<string, MemoryRecord>();
  const latest = (r: MemoryRecord) => created.get(r.id) ?? changed.get(r.id) ?? r;
  const put = (r: MemoryRecord) => (created.has(r.id) ? created.put(r) : changed.set(r.id, r));
  const retold: string[] = [];
  const rewritten: string[] = [];
  const results: (WriteResult | ResourceExhaustedError)[] = new Array(items.length);
  const order = items.map((_, i) => i).sort((a, b) => items[a]!.occurredAt.getTime() - items[b]!.occurredAt.getTime());
  let superseded = 0;
  for (const index of order) {
    yield;
    const item = items[index]!;
    const similar: MemoryHit[] = [
      ...(existing[index] ?? [])
        .filter((h) => !created.has(h.record.id))
        .map((h) => ({ ...h, record: latest(h.record) })),
      // The batch's own memories through an index: comparing with every one of them was quadratic. A change
      // statement may change a memory of another type (resolveConflict filters the rest).
      ...created.candidates(item, item.judged !== undefined || changeCue(item.content) !== undefined),
    ].sort((a, b) => b.relevance - a.relevance);
    const resolution = resolveConflict(item, similar);
    if (resolution.kind === "merge") {
      const merged = mergedRecord(resolution.target, item, resolution.takeIncomingContent, now);
      put(merged);
      if (!created.has(resolution.target.id)) retold.push(resolution.target.id);
      results[index] = { memory: withoutEmbedding(merged), outcome: "merged", supersededIds: [] };
      continue;
    }
    if (resolution.kind === "update") {
      const updated = updatedRecord(resolution.target, item, now);
      put(updated);
      results[index] = { memory: withoutEmbedding(updated), outcome: "updated", supersededIds: [] };
      continue;
    }
    if (room <= 0) {
      results[index] = new ResourceExhaustedError(
        `user "${scope.userId}" holds ${context.maxMemoriesPerUser} memories, the limit; forget some or let eviction run`,
      );
      continue;
    }
    room--;
    // Older than a current memory of its subject: history from the start, valid until that one began.
    const successor = resolution.kind === "superseded" ? resolution.successor : undefined;
    // A self-correction applied to what it corrects takes that memory's text, type and subject.
    const corrected =
      resolution.kind === "supersede" && resolution.content !== undefined
        ? {
            ...item,
            content: resolution.content,
            type: resolution.type ?? item.type,
            subject: resolution.subject ?? item.subject,
          }
        : item;
    const record = newRecord(corrected, scope, context.newId(), now, successor);
    if (corrected !== item) rewritten.push(record.id);
    created.put(record);
    if (resolution.kind !== "supersede") {
      const outcome = successor ? "stored_as_history" : "created";
      results[index] = { memory: withoutEmbedding(record), outcome, supersededIds: [] };
      continue;
    }
    // Recency wins: the new memory replaces older ones of the same subject, which stay as history.
    for (const target of resolution.targets) {
      put({ ...target, supersededBy: record.id, validUntil: item.occurredAt, updatedAt: now });
    }
    superseded += resolution.targets.length;
    results[index] = {
      memory: withoutEmbedding(record),
      outcome: resolution.targets.length > 0 ? "superseded_older" : "created",
      supersededIds: resolution.targets.map((t) => t.id),
    };
  }
  return { results, inserts: [...created.values()], updates: [...changed.values()], retold, rewritten, superseded };
}

/**
 * `items` with each undated one happening when it settles: at `now` (read
 * inside the user's turn), or at the newest stored time it was compared with
 * if that is later (a replica whose clock runs ahead wrote it). The user's
 * turn orders tellings, and a statement told later is the newer one: stamped
 * on receipt, a write received first but embedded more slowly would settle
 * after one received later, as that one's history, a second version of one
 * fact (two replicas, each with its own embedder, did so under load).
 */
function told(
  items: readonly EmbeddedMemory[],
  existing: readonly (readonly MemoryHit[])[],
  now: Date,
): readonly EmbeddedMemory[] {
  if (!items.some((item) => item.undated)) return items;
  const at = new Date(
    existing.flat().reduce((newest, hit) => Math.max(newest, hit.record.occurredAt.getTime()), now.getTime()),
  );
  return items.map((item) => (item.undated ? { ...item, occurredAt: at } : item));
}

/** A near-duplicate told again: one memory, the more telling text, the higher importance. */
function mergedRecord(target: MemoryRecord, item: EmbeddedMemory, takeIncoming: boolean, now: Date): MemoryRecord {
  const newer = item.occurredAt > target.occurredAt;
  const merged = withVersion(
    {
      ...target,
      ...(takeIncoming
        ? {
            content: item.content,
            embedding: item.embedding,
            metadata: { ...target.metadata, ...item.metadata },
            // The content is the newer one now, and so is where it came from.
            source: item.source,
            speaker: item.speaker,
          }
        : {}),
      importance: Math.max(target.importance, item.importance),
      pinned: target.pinned || item.pinned,
      occurredAt: newer ? item.occurredAt : target.occurredAt,
      updatedAt: now,
    },
    target,
    now,
    newer ? item.occurredAt : now,
  );
  // An older near-duplicate that says something else is an earlier version of this memory.
  return !newer && !takeIncoming && addsWords(item.content, target.content)
    ? withEarlierVersion(merged, item, now)
    : merged;
}

/** A newer fact about the target's subject, in the target's place. */
function updatedRecord(target: MemoryRecord, item: EmbeddedMemory, now: Date): MemoryRecord {
  return withVersion(
    {
      ...target,
      content: item.content,
      embedding: item.embedding,
      importance: item.importance,
      metadata: item.metadata,
      pinned: item.pinned,
      occurredAt: item.occurredAt,
      // The content is the newer one now, and so is where it came from.
      source: item.source,
      speaker: item.speaker,
      updatedAt: now,
    },
    target,
    now,
    item.occurredAt,
  );
}

function newRecord(
  item: EmbeddedMemory,
  scope: Scope,
  id: string,
  now: Date,
  successor: MemoryRecord | undefined,
): MemoryRecord {
  return {
    id,
    scope,
    type: item.type,
    content: item.content,
    importance: item.importance,
    metadata: item.metadata,
    subject: item.subject,
    pinned: item.pinned,
    occurredAt: item.occurredAt,
    createdAt: item.createdAt ?? now,
    updatedAt: now,
    lastAccessedAt: item.lastAccessedAt,
    accessCount: item.accessCount ?? 0,
    supersededBy: successor?.id,
    validUntil: successor?.occurredAt,
    source: item.source,
    ...(item.speaker ? { speaker: item.speaker } : {}),
    embedding: item.embedding,
    history: [],
  };
}

/**
 * `next` with `previous`'s content and policy fields appended to its
 * history (oldest dropped beyond the limit), when any of them changed.
 */
export function withVersion(
  next: MemoryRecord,
  previous: MemoryRecord,
  replacedAt: Date,
  validUntil: Date,
): MemoryRecord {
  const same =
    next.content === previous.content &&
    next.importance === previous.importance &&
    next.subject === previous.subject &&
    JSON.stringify(next.metadata) === JSON.stringify(previous.metadata);
  if (same) return next;
  const version: MemoryVersion = {
    content: previous.content,
    importance: previous.importance,
    subject: previous.subject,
    metadata: previous.metadata,
    validFrom: previous.occurredAt,
    validUntil: validUntil < previous.occurredAt ? previous.occurredAt : validUntil,
    replacedAt,
  };
  return { ...next, history: [...(previous.history ?? []), version].slice(-limits.memoryVersionsKept) };
}

/** `record` with an older account of it (`earlier`) placed in its history by when it was true. */
function withEarlierVersion(record: MemoryRecord, earlier: GatedMemory, replacedAt: Date): MemoryRecord {
  const version: MemoryVersion = {
    content: earlier.content,
    importance: earlier.importance,
    subject: earlier.subject,
    metadata: earlier.metadata,
    validFrom: earlier.occurredAt,
    validUntil: record.occurredAt,
    replacedAt,
  };
  const history = [...(record.history ?? []), version].sort((a, b) => a.validFrom.getTime() - b.validFrom.getTime());
  return { ...record, history: history.slice(-limits.memoryVersionsKept) };
}
