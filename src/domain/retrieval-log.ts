import { randomBytes } from "node:crypto";
import type { Scope } from "./types.js";

/** Who asked: a Recall call, context assembly, or the recall probe. */
export type RetrievalPurpose = "recall" | "assemble" | "probe";

/** What one retrieval returned, kept so a later ReportUsage can be scored by rank. */
export interface RetrievalEntry {
  readonly id: string;
  readonly namespace: string;
  readonly userId: string;
  readonly purpose: RetrievalPurpose;
  /** Best first: rank r is memoryIds[r - 1]. */
  readonly memoryIds: readonly string[];
  readonly createdAtMs: number;
}

/**
 * Where retrievals are kept between the response and the caller's report:
 * in the process (one replica's calls) or in Redis (any replica's).
 * Entries older than the log's time-to-live are gone; so are the oldest when
 * the log's count bound is reached.
 */
export interface RetrievalLog {
  /** Where the entries live, for the documentation of errors ("this replica", "Redis"). */
  readonly where: string;
  readonly ttlMs: number;
  put(entry: RetrievalEntry): Promise<void>;
  /** The entry, if it is this scope's and younger than the time-to-live; else undefined. */
  get(scope: Scope, id: string, nowMs: number): Promise<RetrievalEntry | undefined>;
  /**
   * Marks the entry reported; true for the first report only, so a retried
   * report is scored again but counted once.
   */
  markReported(scope: Scope, id: string): Promise<boolean>;
}

/** Longest retrieval id accepted (the ids Engram makes are 24 characters). */
export const retrievalIdMaxBytes = 64;

/** 18 random bytes, base64url: unguessable, so one caller cannot report another's retrieval. */
export function newRetrievalId(): string {
  return `r_${randomBytes(18).toString("base64url")}`;
}

/**
 * The log in this process: a Map in insertion (so time) order, trimmed from
 * the oldest end on every put, so it never holds more than `maxEntries` nor
 * (past the next put) anything older than `ttlMs`. Per replica: a report
 * must reach the replica that served the retrieval.
 */
export class InProcessRetrievalLog implements RetrievalLog {
  readonly where = "this replica (in-process retrieval log)";
  private readonly entries = new Map<string, { entry: RetrievalEntry; claimed: boolean }>();

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  put(entry: RetrievalEntry): Promise<void> {
    this.entries.set(entry.id, { entry, claimed: false });
    for (const [id, held] of this.entries) {
      if (this.entries.size <= this.maxEntries && entry.createdAtMs - held.entry.createdAtMs <= this.ttlMs) break;
      this.entries.delete(id);
    }
    return Promise.resolve();
  }

  get(scope: Scope, id: string, nowMs: number): Promise<RetrievalEntry | undefined> {
    const held = this.entries.get(id);
    // Another user's retrieval is as unknown as one that never was: ids are not confirmed across scopes.
    if (!held || !sameScope(held.entry, scope) || nowMs - held.entry.createdAtMs > this.ttlMs) {
      return Promise.resolve(undefined);
    }
    return Promise.resolve(held.entry);
  }

  markReported(scope: Scope, id: string): Promise<boolean> {
    const held = this.entries.get(id);
    if (!held || !sameScope(held.entry, scope) || held.claimed) return Promise.resolve(false);
    held.claimed = true;
    return Promise.resolve(true);
  }

  get size(): number {
    return this.entries.size;
  }
}

function sameScope(entry: RetrievalEntry, scope: Scope): boolean {
  return entry.namespace === scope.namespace && entry.userId === scope.userId;
}
