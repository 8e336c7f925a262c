import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { UnavailableError } from "../../domain/errors.js";
import { SqliteReader } from "./sqlite-reader.js";

/**
 * The embedded default's one database file, through Node's built-in SQLite
 * (`node:sqlite`): a real, durable embedded database with no native addon to
 * build. WAL with `synchronous = FULL`, so an acknowledged write survives a
 * crash of the process or the machine.
 */
export class SqliteDatabase {
  readonly db: DatabaseSync;
  private readonly reader: SqliteReader | undefined;

  constructor(
    readonly path: string,
    options: {
      /**
       * Costly reads (readAll) on a read thread (true, the default for a
       * file), or on this connection (an in-memory database, which no second
       * connection can see; tests comparing the two paths).
       */
      readThread?: boolean;
    } = {},
  ) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path, { timeout: 5000 });
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = FULL");
    this.db.exec("PRAGMA foreign_keys = ON");
    // Deleted rows are overwritten with zeros, not left in free space (see `erase`).
    this.db.exec("PRAGMA secure_delete = ON");
    migrate(this.db);
    if (path !== ":memory:" && options.readThread !== false) this.reader = new SqliteReader(path);
  }

  /**
   * Makes what was deleted unrecoverable from the files: rows were zeroed
   * in place (`secure_delete`) and the full-text index dropped their words
   * (its own secure-delete), but in WAL mode the pages that held them are
   * still copies in the -wal file until a checkpoint. This copies the WAL
   * into the database and truncates it to zero bytes. Called after an
   * erasure (ForgetUser, ForgetMemory); false when another connection (the
   * `engram evict` CronJob) held a read snapshot and the WAL could not be
   * emptied, in which case the next erasure or SQLite's own checkpoint does.
   */
  erase(): boolean {
    const result = this.guard(() => this.db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get());
    return Number(result?.busy ?? 1) === 0;
  }

  /**
   * Runs `work` in one write transaction. BEGIN IMMEDIATE takes the write
   * lock up front, so another process on the same file (the `engram evict`
   * CronJob) waits instead of failing half-way.
   */
  transaction<T>(work: () => T): T {
    return this.guard(() => {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = work();
        this.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.db.isTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    });
  }

  /** Runs `work`, translating SQLite failures (busy, I/O, full disk) into UnavailableError. */
  guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (isSqliteError(error)) throw new UnavailableError("embedded store", error.message, { cause: error });
      throw error;
    }
  }

  all(sql: string, ...params: SQLInputValue[]): Record<string, SQLInputValue>[] {
    return this.guard(() => this.db.prepare(sql).all(...params)) as Record<string, SQLInputValue>[];
  }

  get(sql: string, ...params: SQLInputValue[]): Record<string, SQLInputValue> | undefined {
    return this.guard(() => this.db.prepare(sql).get(...params)) as Record<string, SQLInputValue> | undefined;
  }

  run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.guard(() => this.db.prepare(sql).run(...params)).changes);
  }

  /**
   * A read-only query whose cost the caller sets (a Recall's full-text
   * match): on the read thread's connection, so it leaves the event loop
   * free; the same rows as `all` (same statement, same committed data).
   */
  async readAll(sql: string, ...params: SQLInputValue[]): Promise<Record<string, SQLInputValue>[]> {
    if (!this.reader) return this.all(sql, ...params);
    if (!this.db.isOpen) throw new UnavailableError("embedded store", "the database is closed");
    return this.reader.all(sql, params);
  }

  isOpen(): boolean {
    return this.db.isOpen;
  }

  /** Closes the connection; the read thread ends after answering what it was sent. */
  close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
    return this.reader?.close() ?? Promise.resolve();
  }
}

function isSqliteError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && (error as { code?: unknown }).code === "ERR_SQLITE_ERROR";
}

/** Schema versions, applied in order; `PRAGMA user_version` records the last. */
const migrations: readonly string[] = [
  `
  CREATE TABLE sessions (
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    last_sequence INTEGER NOT NULL,
    token_count INTEGER NOT NULL,
    summary TEXT,
    summary_tokens INTEGER NOT NULL DEFAULT 0,
    summarized_through INTEGER NOT NULL DEFAULT 0,
    summarized_count INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, user_id, session_id)
  ) WITHOUT ROWID;
  CREATE INDEX sessions_expiry ON sessions (expires_at);
  CREATE TABLE messages (
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    id TEXT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    metadata TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, user_id, session_id, sequence)
  ) WITHOUT ROWID;
  CREATE TABLE working_tasks (
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, user_id, task_id)
  ) WITHOUT ROWID;
  CREATE INDEX working_expiry ON working_tasks (expires_at);
  CREATE TABLE working_entries (
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, user_id, task_id, key)
  ) WITHOUT ROWID;
  CREATE TABLE memories (
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    importance REAL NOT NULL,
    metadata TEXT NOT NULL,
    subject TEXT NOT NULL,
    pinned INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_accessed_at INTEGER,
    access_count INTEGER NOT NULL,
    superseded_by TEXT,
    valid_until INTEGER,
    embedding BLOB NOT NULL,
    PRIMARY KEY (namespace, user_id, id)
  ) WITHOUT ROWID;
  `,
  // Append keys (AppendMessages.idempotency_key), kept as long as their session.
  `
  CREATE TABLE session_appends (
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    append_key TEXT NOT NULL,
    first_sequence INTEGER NOT NULL,
    message_ids TEXT NOT NULL,
    PRIMARY KEY (namespace, user_id, session_id, append_key)
  ) WITHOUT ROWID;
  `,
  // Provenance of memories (rows from before it are "unknown"), and when a message was said.
  `
  ALTER TABLE memories ADD COLUMN source_kind TEXT NOT NULL DEFAULT 'unknown';
  ALTER TABLE memories ADD COLUMN source_session TEXT NOT NULL DEFAULT '';
  ALTER TABLE memories ADD COLUMN source_message_ids TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE memories ADD COLUMN source_caller TEXT NOT NULL DEFAULT '';
  ALTER TABLE messages ADD COLUMN occurred_at INTEGER;
  `,
  // Lexical search (BM25) over memory content: an FTS5 index kept by
  // triggers, so every write path (and existing rows, here) is indexed in the
  // same transaction as the memory itself. memories has no rowid, so
  // memory_search_keys gives each memory the integer key FTS5 needs.
  `
  CREATE TABLE memory_search_keys (
    key INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    id TEXT NOT NULL,
    UNIQUE (namespace, user_id, id)
  );
  CREATE VIRTUAL TABLE memories_fts USING fts5(
    content, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memory_search_keys (namespace, user_id, id) VALUES (new.namespace, new.user_id, new.id);
    INSERT INTO memories_fts (rowid, content) VALUES (last_insert_rowid(), new.content);
  END;
  CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN
    DELETE FROM memories_fts WHERE rowid = (
      SELECT key FROM memory_search_keys WHERE namespace = old.namespace AND user_id = old.user_id AND id = old.id);
    INSERT INTO memories_fts (rowid, content) SELECT key, new.content FROM memory_search_keys
      WHERE namespace = new.namespace AND user_id = new.user_id AND id = new.id;
  END;
  CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    DELETE FROM memories_fts WHERE rowid = (
      SELECT key FROM memory_search_keys WHERE namespace = old.namespace AND user_id = old.user_id AND id = old.id);
    DELETE FROM memory_search_keys WHERE namespace = old.namespace AND user_id = old.user_id AND id = old.id;
  END;
  INSERT INTO memory_search_keys (namespace, user_id, id) SELECT namespace, user_id, id FROM memories;
  INSERT INTO memories_fts (rowid, content)
    SELECT k.key, m.content FROM memories m
    JOIN memory_search_keys k ON k.namespace = m.namespace AND k.user_id = m.user_id AND k.id = m.id;
  `,
  // What each keyed append asked for: a key reused for other messages is refused
  // ("" for keys stored before, which replay as they did).
  `
  ALTER TABLE session_appends ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
  `,
  // Memory history (earlier versions, JSON) and the ListMemories order.
  `
  ALTER TABLE memories ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
  CREATE INDEX memories_listing ON memories (namespace, user_id, created_at, id);
  `,
  // Learning from sessions: the extraction watermark, last activity (the idle
  // sweep), and the durable queue of background work (compaction, extraction).
  `
  ALTER TABLE sessions ADD COLUMN extracted_through INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX sessions_activity ON sessions (updated_at);
  CREATE TABLE learning_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    enqueued_at INTEGER NOT NULL,
    claimed_until INTEGER NOT NULL DEFAULT 0,
    UNIQUE (namespace, user_id, session_id, reason)
  );
  `,
  // Speakers: a message's name, carried into the memories learnt from it and
  // indexed with their words (rows before this have no speaker: nothing to re-index).
  `
  ALTER TABLE messages ADD COLUMN name TEXT NOT NULL DEFAULT '';
  ALTER TABLE memories ADD COLUMN speaker TEXT NOT NULL DEFAULT '';
  DROP TRIGGER memories_fts_insert;
  DROP TRIGGER memories_fts_update;
  CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memory_search_keys (namespace, user_id, id) VALUES (new.namespace, new.user_id, new.id);
    INSERT INTO memories_fts (rowid, content) VALUES (last_insert_rowid(), new.speaker || ' ' || new.content);
  END;
  CREATE TRIGGER memories_fts_update AFTER UPDATE OF content, speaker ON memories BEGIN
    DELETE FROM memories_fts WHERE rowid = (
      SELECT key FROM memory_search_keys WHERE namespace = old.namespace AND user_id = old.user_id AND id = old.id);
    INSERT INTO memories_fts (rowid, content) SELECT key, new.speaker || ' ' || new.content FROM memory_search_keys
      WHERE namespace = new.namespace AND user_id = new.user_id AND id = new.id;
  END;
  `,
  // Facts about the database itself, e.g. which embedder made its vectors.
  `
  CREATE TABLE engram_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  `,
  // What a BM25 search checks of every memory its words match (type, current,
  // speaker), in an index: the rows themselves carry a vector and the text, and
  // reading thousands of them per recall cost 80 ms at 10,000 memories.
  `
  CREATE INDEX memories_search ON memories (namespace, user_id, id, type, superseded_by, speaker);
  `,
  // Erasure: a deleted memory's words leave the full-text index at once
  // (FTS5 secure-delete) instead of staying in its segments as tombstoned
  // entries until a merge; 'optimize' purges those left by earlier deletes.
  `
  INSERT INTO memories_fts (memories_fts, rank) VALUES ('secure-delete', 1);
  INSERT INTO memories_fts (memories_fts) VALUES ('optimize');
  `,
  // Vectors in a table of their own. A memory's 1.5 KiB vector made its row
  // overflow onto other pages, and the columns added since (source_*,
  // history, speaker) were stored after it: loading a recall's ~90 candidate
  // rows walked those overflow pages, 1.4 ms of the row load against 0.1 ms
  // for their keys. Moving the vector last in a rebuilt table would do for
  // now, but every later ADD COLUMN would land after it again. The table is
  // rebuilt without the column, rows packed afresh in key order (ALTER TABLE
  // DROP COLUMN rewrites each row where it is, leaving the pages it shrank
  // sparsely filled), with its indexes and triggers as the migrations above
  // left them; the full-text index and memory_search_keys
  // are keyed by (namespace, user_id, id) and stay as they are. Deleting a
  // memory deletes its vector by trigger, so every delete path (ForgetMemory,
  // ForgetUser, eviction) keeps the two tables together, in its transaction.
  `
  CREATE TABLE memory_vectors (
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    id TEXT NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY (namespace, user_id, id)
  ) WITHOUT ROWID;
  INSERT INTO memory_vectors (namespace, user_id, id, embedding) SELECT namespace, user_id, id, embedding FROM memories;
  CREATE TABLE memories_rebuilt (
    namespace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    importance REAL NOT NULL,
    metadata TEXT NOT NULL,
    subject TEXT NOT NULL,
    pinned INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_accessed_at INTEGER,
    access_count INTEGER NOT NULL,
    superseded_by TEXT,
    valid_until INTEGER,
    source_kind TEXT NOT NULL DEFAULT 'unknown',
    source_session TEXT NOT NULL DEFAULT '',
    source_message_ids TEXT NOT NULL DEFAULT '[]',
    source_caller TEXT NOT NULL DEFAULT '',
    history TEXT NOT NULL DEFAULT '[]',
    speaker TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (namespace, user_id, id)
  ) WITHOUT ROWID;
  INSERT INTO memories_rebuilt
    SELECT namespace, user_id, id, type, content, importance, metadata, subject, pinned, occurred_at, created_at,
      updated_at, last_accessed_at, access_count, superseded_by, valid_until, source_kind, source_session,
      source_message_ids, source_caller, history, speaker
    FROM memories;
  DROP TRIGGER memories_fts_insert;
  DROP TRIGGER memories_fts_update;
  DROP TRIGGER memories_fts_delete;
  DROP TABLE memories;
  ALTER TABLE memories_rebuilt RENAME TO memories;
  CREATE INDEX memories_listing ON memories (namespace, user_id, created_at, id);
  CREATE INDEX memories_search ON memories (namespace, user_id, id, type, superseded_by, speaker);
  CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memory_search_keys (namespace, user_id, id) VALUES (new.namespace, new.user_id, new.id);
    INSERT INTO memories_fts (rowid, content) VALUES (last_insert_rowid(), new.speaker || ' ' || new.content);
  END;
  CREATE TRIGGER memories_fts_update AFTER UPDATE OF content, speaker ON memories BEGIN
    DELETE FROM memories_fts WHERE rowid = (
      SELECT key FROM memory_search_keys WHERE namespace = old.namespace AND user_id = old.user_id AND id = old.id);
    INSERT INTO memories_fts (rowid, content) SELECT key, new.speaker || ' ' || new.content FROM memory_search_keys
      WHERE namespace = new.namespace AND user_id = new.user_id AND id = new.id;
  END;
  CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    DELETE FROM memories_fts WHERE rowid = (
      SELECT key FROM memory_search_keys WHERE namespace = old.namespace AND user_id = old.user_id AND id = old.id);
    DELETE FROM memory_search_keys WHERE namespace = old.namespace AND user_id = old.user_id AND id = old.id;
  END;
  CREATE TRIGGER memory_vectors_delete AFTER DELETE ON memories BEGIN
    DELETE FROM memory_vectors WHERE namespace = old.namespace AND user_id = old.user_id AND id = old.id;
  END;
  `,
];

/** The schema version this code writes (`PRAGMA user_version` once migrated). */
export const schemaVersion = migrations.length;

/**
 * Brings the schema to version `through` (this code's, unless an upgrade
 * test asks for a database as an earlier release left it).
 */
export function migrate(db: DatabaseSync, through = schemaVersion): void {
  // Each step re-reads the version under the write lock, so replicas or the
  // evict CLI opening the same file at once migrate it exactly once.
  for (;;) {
    db.exec("BEGIN IMMEDIATE");
    try {
      const { user_version: version } = db.prepare("PRAGMA user_version").get() as { user_version: number };
      const next = version < through ? migrations[version] : undefined;
      if (next !== undefined) {
        db.exec(next);
        db.exec(`PRAGMA user_version = ${version + 1}`);
      }
      db.exec("COMMIT");
      if (next === undefined) return;
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }
}
