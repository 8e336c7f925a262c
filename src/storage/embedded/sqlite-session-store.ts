import type { NewMessage, Role, Scope, SessionSnapshot, StoredMessage } from "../../domain/types.js";
import type {
  AppendKey,
  AppendResult,
  CompactionCommit,
  CompactionOutcome,
  SessionRef,
  SessionStore,
} from "../../domain/ports.js";
import type { SqliteDatabase } from "./sqlite-database.js";

/** Short-term memory in the embedded database. Each operation is one transaction. */
export class SqliteSessionStore implements SessionStore {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async append(
    scope: Scope,
    sessionId: string,
    messages: readonly NewMessage[],
    ttlSeconds: number,
    appendKey?: AppendKey,
  ): Promise<AppendResult> {
    const now = this.clock().getTime();
    const key = [scope.namespace, scope.userId, sessionId] as const;
    return this.database.transaction(() => {
      const db = this.database;
      const session = db.get(
        "SELECT last_sequence, token_count, expires_at FROM sessions WHERE namespace = ? AND user_id = ? AND session_id = ?",
        ...key,
      );
      let lastSequence = 0;
      let tokenCount = 0;
      if (session && Number(session.expires_at) > now) {
        lastSequence = Number(session.last_sequence);
        tokenCount = Number(session.token_count);
        const seen = appendKey
          ? db.get(
              "SELECT first_sequence, message_ids, fingerprint FROM session_appends WHERE namespace = ? AND user_id = ? AND session_id = ? AND append_key = ?",
              ...key,
              appendKey.key,
            )
          : undefined;
        if (seen) {
          const messageIds = String(seen.message_ids).split(",");
          return {
            sequences: messageIds.map((_, i) => Number(seen.first_sequence) + i),
            messageIds,
            tokenCount,
            messageCount: countMessages(db, key),
            replayed: true,
            replayedFingerprint: String(seen.fingerprint),
          };
        }
      } else if (session) {
        // An expired session that the sweeper has not reached yet starts afresh.
        deleteSession(db, key);
      }
      const insert = db.db.prepare(
        "INSERT INTO messages (namespace, user_id, session_id, sequence, id, role, content, metadata, token_count, created_at, occurred_at, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      );
      const sequences: number[] = [];
      for (const message of messages) {
        lastSequence++;
        tokenCount += message.tokenCount;
        insert.run(
          ...key,
          lastSequence,
          message.id,
          message.role,
          message.content,
          JSON.stringify(message.metadata),
          message.tokenCount,
          message.createdAt.getTime(),
          message.occurredAt.getTime(),
          message.name ?? "",
        );
        sequences.push(lastSequence);
      }
      db.run(
        `INSERT INTO sessions (namespace, user_id, session_id, last_sequence, token_count, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (namespace, user_id, session_id) DO UPDATE SET last_sequence = excluded.last_sequence, token_count = excluded.token_count, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
        ...key,
        lastSequence,
        tokenCount,
        now + ttlSeconds * 1000,
        now,
      );
      const messageIds = messages.map((m) => m.id);
      if (appendKey) {
        db.run(
          "INSERT INTO session_appends (namespace, user_id, session_id, append_key, first_sequence, message_ids, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?)",
          ...key,
          appendKey.key,
          sequences[0]!,
          messageIds.join(","),
          appendKey.fingerprint,
        );
      }
      return {
        sequences,
        messageIds,
        tokenCount,
        messageCount: countMessages(db, key),
        replayed: false,
      };
    });
  }

  async read(scope: Scope, sessionId: string): Promise<SessionSnapshot | undefined> {
    const key = [scope.namespace, scope.userId, sessionId] as const;
    const now = this.clock().getTime();
    // One read transaction, so the summary and the messages are of one moment.
    return this.database.guard(() => {
      const db = this.database;
      db.db.exec("BEGIN");
      try {
        const session = db.get(
          "SELECT token_count, summary, summary_tokens, summarized_through, summarized_count, extracted_through, expires_at FROM sessions WHERE namespace = ? AND user_id = ? AND session_id = ?",
          ...key,
        );
        if (!session || Number(session.expires_at) <= now) return undefined;
        const rows = db.all(
          "SELECT sequence, id, role, content, metadata, token_count, created_at, occurred_at, name FROM messages WHERE namespace = ? AND user_id = ? AND session_id = ? ORDER BY sequence",
          ...key,
        );
        const messages: StoredMessage[] = rows.map((r) => ({
          id: String(r.id),
          sequence: Number(r.sequence),
          role: String(r.role) as Role,
          content: String(r.content),
          metadata: JSON.parse(String(r.metadata)) as Record<string, string>,
          tokenCount: Number(r.token_count),
          createdAt: new Date(Number(r.created_at)),
          occurredAt: new Date(Number(r.occurred_at ?? r.created_at)),
          ...(r.name ? { name: String(r.name) } : {}),
        }));
        const summary =
          session.summary === null
            ? undefined
            : {
                content: String(session.summary),
                tokenCount: Number(session.summary_tokens),
                summarizedThroughSequence: Number(session.summarized_through),
                summarizedMessageCount: Number(session.summarized_count),
              };
        return {
          summary,
          messages,
          tokenCount: Number(session.token_count),
          extractedThroughSequence: Number(session.extracted_through),
        };
      } finally {
        db.db.exec("COMMIT");
      }
    });
  }

  async commitCompaction(scope: Scope, sessionId: string, commit: CompactionCommit): Promise<CompactionOutcome> {
    const key = [scope.namespace, scope.userId, sessionId] as const;
    const now = this.clock().getTime();
    return this.database.transaction(() => {
      const db = this.database;
      const session = db.get(
        "SELECT summary_tokens, summarized_through, expires_at FROM sessions WHERE namespace = ? AND user_id = ? AND session_id = ?",
        ...key,
      );
      if (
        !session ||
        Number(session.expires_at) <= now ||
        Number(session.summarized_through) !== commit.expectedSummarizedThrough
      ) {
        return "conflict";
      }
      const folded = db.get(
        `SELECT COUNT(*) AS n, COALESCE(SUM(token_count), 0) AS tokens,
           MAX(CASE WHEN sequence = ? THEN id END) AS first_id, MAX(CASE WHEN sequence = ? THEN id END) AS last_id
         FROM messages WHERE namespace = ? AND user_id = ? AND session_id = ? AND sequence <= ?`,
        commit.expectedSummarizedThrough + 1,
        commit.throughSequence,
        ...key,
        commit.throughSequence,
      );
      if (
        Number(folded?.n) !== commit.throughSequence - commit.expectedSummarizedThrough ||
        folded?.first_id !== commit.firstFoldedId ||
        folded?.last_id !== commit.lastFoldedId
      ) {
        return "conflict";
      }
      db.run(
        "DELETE FROM messages WHERE namespace = ? AND user_id = ? AND session_id = ? AND sequence <= ?",
        ...key,
        commit.throughSequence,
      );
      db.run(
        `UPDATE sessions SET summary = ?, summary_tokens = ?, summarized_through = ?,
           summarized_count = summarized_count + ?, token_count = token_count - summary_tokens - ? + ?
         WHERE namespace = ? AND user_id = ? AND session_id = ?`,
        commit.summary,
        commit.summaryTokenCount,
        commit.throughSequence,
        Number(folded?.n ?? 0),
        Number(folded?.tokens ?? 0),
        commit.summaryTokenCount,
        ...key,
      );
      return "committed";
    });
  }

  async delete(scope: Scope, sessionId: string): Promise<number | undefined> {
    const key = [scope.namespace, scope.userId, sessionId] as const;
    const now = this.clock().getTime();
    return this.database.transaction(() => {
      const session = this.database.get(
        "SELECT expires_at FROM sessions WHERE namespace = ? AND user_id = ? AND session_id = ?",
        ...key,
      );
      if (!session) return undefined;
      const count = deleteSession(this.database, key);
      return Number(session.expires_at) > now ? count : undefined;
    });
  }

  async sessionIds(scope: Scope): Promise<string[]> {
    return this.database
      .all(
        "SELECT session_id FROM sessions WHERE namespace = ? AND user_id = ? AND expires_at > ? ORDER BY session_id",
        scope.namespace,
        scope.userId,
        this.clock().getTime(),
      )
      .map((row) => String(row.session_id));
  }

  async deleteUser(scope: Scope): Promise<number> {
    const now = this.clock().getTime();
    const deleted = this.database.transaction(() => {
      const db = this.database;
      const live = db.get(
        "SELECT COUNT(*) AS n FROM sessions WHERE namespace = ? AND user_id = ? AND expires_at > ?",
        scope.namespace,
        scope.userId,
        now,
      );
      db.run("DELETE FROM messages WHERE namespace = ? AND user_id = ?", scope.namespace, scope.userId);
      db.run("DELETE FROM session_appends WHERE namespace = ? AND user_id = ?", scope.namespace, scope.userId);
      db.run("DELETE FROM sessions WHERE namespace = ? AND user_id = ?", scope.namespace, scope.userId);
      return Number(live?.n ?? 0);
    });
    // ForgetUser: gone from the files too (see SqliteDatabase.erase).
    this.database.erase();
    return deleted;
  }

  async commitExtraction(
    scope: Scope,
    sessionId: string,
    expectedThrough: number,
    through: number,
  ): Promise<CompactionOutcome> {
    const changed = this.database.run(
      `UPDATE sessions SET extracted_through = ?
       WHERE namespace = ? AND user_id = ? AND session_id = ? AND extracted_through = ? AND expires_at > ?`,
      through,
      scope.namespace,
      scope.userId,
      sessionId,
      expectedThrough,
      this.clock().getTime(),
    );
    return changed === 1 ? "committed" : "conflict";
  }

  async idleSessions(activeBefore: Date, limit: number): Promise<SessionRef[]> {
    const rows = this.database.all(
      `SELECT namespace, user_id, session_id FROM sessions
       WHERE updated_at < ? AND extracted_through < last_sequence AND expires_at > ?
       ORDER BY updated_at LIMIT ?`,
      activeBefore.getTime(),
      this.clock().getTime(),
      limit,
    );
    return rows.map((r) => ({
      scope: { namespace: String(r.namespace), userId: String(r.user_id) },
      sessionId: String(r.session_id),
    }));
  }

  /** Deletes expired sessions and their messages; how many. */
  sweepExpired(): number {
    const now = this.clock().getTime();
    return this.database.transaction(() => {
      const db = this.database;
      for (const table of ["messages", "session_appends"]) {
        db.run(
          `DELETE FROM ${table} WHERE (namespace, user_id, session_id) IN
             (SELECT namespace, user_id, session_id FROM sessions WHERE expires_at <= ?)`,
          now,
        );
      }
      return db.run("DELETE FROM sessions WHERE expires_at <= ?", now);
    });
  }
}

/** Deletes one session row, its messages and its append keys; how many messages it had. */
function deleteSession(db: SqliteDatabase, key: readonly [string, string, string]): number {
  const removed = db.run("DELETE FROM messages WHERE namespace = ? AND user_id = ? AND session_id = ?", ...key);
  db.run("DELETE FROM session_appends WHERE namespace = ? AND user_id = ? AND session_id = ?", ...key);
  db.run("DELETE FROM sessions WHERE namespace = ? AND user_id = ? AND session_id = ?", ...key);
  return removed;
}

function countMessages(db: SqliteDatabase, key: readonly [string, string, string]): number {
  const count = db.get(
    "SELECT COUNT(*) AS n FROM messages WHERE namespace = ? AND user_id = ? AND session_id = ?",
    ...key,
  );
  return Number(count?.n ?? 0);
}
