import type { MemoryType } from "../../domain/types.js";
import { growMatrix } from "./vector-matrix.js";

/**
 * One user's memory vectors, packed for a fast exact scan. Row i of the
 * matrix belongs to ids[i]; the matrix may have spare rows past ids.length,
 * so that writes can append without copying it every time.
 */
export interface UserVectors {
  readonly ids: string[];
  readonly types: MemoryType[];
  readonly superseded: boolean[];
  /** Each row's speaker ("" for none), for the speaker filter. */
  readonly speakers: string[];
  /**
   * At least `ids.length × dimensions` floats, row-major (vector-matrix.ts:
   * possibly a view on a WebAssembly memory, replaced when it grows; read it
   * from here, never keep it).
   */
  matrix: Float32Array;
}

/** One memory's row, as a write by this process leaves it. */
export interface VectorRow {
  readonly id: string;
  readonly type: MemoryType;
  readonly superseded: boolean;
  readonly speaker: string;
  readonly embedding: Float32Array;
}

/**
 * Keeps recently searched users' vectors in memory, so a recall scans
 * floats instead of reading every BLOB from SQLite. Bounded by the total
 * number of vectors held (least recently used users go first). Inserts and
 * updates by this process patch the cached user in place (a Remember
 * searches the user right after the previous one wrote, so invalidating
 * would re-read every BLOB per write); deletes invalidate the user; a change
 * in SQLite's `data_version` (a commit by another connection, e.g. the
 * evict CronJob) clears it all. Searches are synchronous, so patching never
 * races a scan.
 */
export class UserVectorCache {
  private readonly users = new Map<string, UserVectors>();
  private held = 0;
  private dataVersion: number | undefined;

  constructor(private readonly maxVectors: number) {}

  /** Drops everything if the database was changed by another connection. */
  checkDataVersion(version: number): void {
    if (this.dataVersion !== undefined && this.dataVersion !== version) this.clear();
    this.dataVersion = version;
  }

  get(key: string): UserVectors | undefined {
    const entry = this.users.get(key);
    if (entry) {
      // Re-insert: Map iteration order is our LRU order.
      this.users.delete(key);
      this.users.set(key, entry);
    }
    return entry;
  }

  set(key: string, vectors: UserVectors): void {
    this.invalidate(key);
    if (vectors.ids.length > this.maxVectors) return;
    this.users.set(key, vectors);
    this.held += vectors.ids.length;
    for (const [oldest, entry] of this.users) {
      if (this.held <= this.maxVectors) break;
      this.users.delete(oldest);
      this.held -= entry.ids.length;
    }
  }

  /** Puts a written row into the user's cached vectors, if the user is cached. */
  upsert(key: string, row: VectorRow, dimensions: number): void {
    const entry = this.users.get(key);
    if (!entry) return;
    let index = entry.ids.indexOf(row.id);
    if (index < 0) {
      if (this.held >= this.maxVectors) return this.invalidate(key);
      index = entry.ids.length;
      if ((index + 1) * dimensions > entry.matrix.length) {
        // Double the spare rows: appends cost amortised O(1) copies (none where the memory grows in place).
        entry.matrix = growMatrix(entry.matrix, Math.max(16, index * 2), dimensions, index * dimensions);
      }
      entry.ids.push(row.id);
      this.held++;
    }
    entry.types[index] = row.type;
    entry.superseded[index] = row.superseded;
    entry.speakers[index] = row.speaker;
    entry.matrix.set(row.embedding.subarray(0, dimensions), index * dimensions);
  }

  invalidate(key: string): void {
    const entry = this.users.get(key);
    if (!entry) return;
    this.users.delete(key);
    this.held -= entry.ids.length;
  }

  clear(): void {
    this.users.clear();
    this.held = 0;
  }
}
