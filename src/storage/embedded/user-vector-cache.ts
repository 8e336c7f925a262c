import type { MemoryType } from "../../domain/types.js";

/** One user's memory vectors, packed for a fast exact scan. */
export interface UserVectors {
  readonly ids: readonly string[];
  readonly types: readonly MemoryType[];
  readonly superseded: readonly boolean[];
  /** `ids.length × dimensions` floats, row-major. */
  readonly matrix: Float32Array;
}

/**
 * Keeps recently searched users' vectors in memory, so a recall scans
 * floats instead of reading every BLOB from SQLite. Bounded by the total
 * number of vectors held (least recently used users go first). Writes by
 * this process invalidate the user; a change in SQLite's `data_version`
 * (a commit by another connection, e.g. the evict CronJob) clears it all.
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
