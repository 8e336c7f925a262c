import { EmbedderMismatchError } from "../../domain/models.js";
import type { Stores } from "../../domain/ports.js";
import { SqliteDatabase } from "./sqlite-database.js";
import { SqliteLearningQueue } from "./sqlite-learning-queue.js";
import { SqliteLongTermStore } from "./sqlite-long-term-store.js";
import { SqliteSessionStore } from "./sqlite-session-store.js";
import { SqliteWorkingStore } from "./sqlite-working-store.js";

/**
 * All three tiers in one SQLite file: the default when no Redis or Weaviate
 * is configured. Expired sessions and tasks are invisible at once (reads
 * check expiry) and deleted by a sweep every `sweepIntervalMs`.
 */
export function openEmbeddedStores(options: {
  path: string;
  dimensions: number;
  sweepIntervalMs?: number;
  /**
   * The configured embedder's identity key: a database recording another
   * fails to open (one recording none, from before identities, adopts it).
   */
  embedder?: string;
  /** Open whatever vectors the database holds (`engram reembed` replaces them). */
  anyVectors?: boolean;
  /** Recall's full-text match on the read thread (default) or on the main connection (SqliteDatabase). */
  readThread?: boolean;
}): Stores {
  const database = new SqliteDatabase(
    options.path,
    options.readThread === undefined ? {} : { readThread: options.readThread },
  );
  const stored = database.get("SELECT length(embedding) / 4 AS dimensions FROM memory_vectors LIMIT 1")?.dimensions;
  const recorded = database.get("SELECT value FROM engram_meta WHERE key = 'embedder'")?.value;
  if (options.embedder !== undefined && !options.anyVectors) {
    if (recorded === undefined) {
      database.run("INSERT OR IGNORE INTO engram_meta (key, value) VALUES ('embedder', ?)", options.embedder);
    } else if (String(recorded) !== options.embedder) {
      void database.close();
      throw new EmbedderMismatchError(options.path, String(recorded), options.embedder);
    }
  }
  if (!options.anyVectors && stored !== undefined && Number(stored) !== options.dimensions) {
    void database.close();
    throw new Error(
      `${options.path} holds ${stored}-dimensional embeddings but the embedder makes ${options.dimensions}: ` +
        "set ENGRAM_EMBEDDING_DIMENSIONS (or the embedding model) back, or use a new database",
    );
  }
  const sessions = new SqliteSessionStore(database);
  const working = new SqliteWorkingStore(database);
  const longTerm = new SqliteLongTermStore(database, options.dimensions);
  const sweeper = setInterval(() => {
    try {
      sessions.sweepExpired();
      working.sweepExpired();
    } catch {
      // A busy or failing database is reported by the health check; the next sweep retries.
    }
  }, options.sweepIntervalMs ?? 60_000);
  sweeper.unref();
  return {
    sessions,
    working,
    longTerm,
    learningQueue: new SqliteLearningQueue(database),
    backends: { sessions: "embedded", working: "embedded", longTerm: "embedded" },
    sizes: async () => {
      const count = (table: string) => Number(database.get(`SELECT COUNT(*) AS n FROM ${table}`)?.n ?? 0);
      return { sessions: count("sessions"), working: count("working_tasks"), long_term: count("memories") };
    },
    health: [
      { name: "embedded", check: async () => database.isOpen() && database.get("SELECT 1 AS ok") !== undefined },
    ],
    close: async () => {
      clearInterval(sweeper);
      await database.close();
    },
  };
}
