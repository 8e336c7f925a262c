import { ResourceExhaustedError } from "../../domain/errors.js";
import type { Scope, WorkingState } from "../../domain/types.js";
import type { WorkingStore } from "../../domain/ports.js";
import type { SqliteDatabase } from "./sqlite-database.js";

/** Working memory in the embedded database: a task row plus its entries. */
export class SqliteWorkingStore implements WorkingStore {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async set(
    scope: Scope,
    taskId: string,
    entries: Readonly<Record<string, string>>,
    ttlSeconds: number,
    maxEntries: number,
  ): Promise<WorkingState> {
    const now = this.clock().getTime();
    const key = [scope.namespace, scope.userId, taskId] as const;
    return this.database.transaction(() => {
      const db = this.database;
      const task = db.get(
        "SELECT expires_at FROM working_tasks WHERE namespace = ? AND user_id = ? AND task_id = ?",
        ...key,
      );
      if (task && Number(task.expires_at) <= now) deleteTask(db, key);
      const upsert = db.db.prepare(
        `INSERT INTO working_entries (namespace, user_id, task_id, key, value) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (namespace, user_id, task_id, key) DO UPDATE SET value = excluded.value`,
      );
      for (const [entryKey, value] of Object.entries(entries)) upsert.run(...key, entryKey, value);
      const count = Number(
        db.get("SELECT COUNT(*) AS n FROM working_entries WHERE namespace = ? AND user_id = ? AND task_id = ?", ...key)
          ?.n,
      );
      if (count > maxEntries) {
        // Throwing rolls the whole write back: no half-applied state.
        throw new ResourceExhaustedError(`task "${taskId}" would hold ${count} entries; the limit is ${maxEntries}`);
      }
      db.run(
        `INSERT INTO working_tasks (namespace, user_id, task_id, updated_at, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (namespace, user_id, task_id) DO UPDATE SET updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
        ...key,
        now,
        now + ttlSeconds * 1000,
      );
      return readTask(db, key, now)!;
    });
  }

  async get(scope: Scope, taskId: string): Promise<WorkingState | undefined> {
    const now = this.clock().getTime();
    return this.database.guard(() => readTask(this.database, [scope.namespace, scope.userId, taskId], now));
  }

  async list(scope: Scope): Promise<WorkingState[]> {
    const now = this.clock().getTime();
    return this.database.guard(() => {
      const tasks = this.database.all(
        "SELECT task_id FROM working_tasks WHERE namespace = ? AND user_id = ? AND expires_at > ? ORDER BY updated_at DESC, task_id",
        scope.namespace,
        scope.userId,
        now,
      );
      return tasks
        .map((t) => readTask(this.database, [scope.namespace, scope.userId, String(t.task_id)], now))
        .filter((t): t is WorkingState => t !== undefined);
    });
  }

  async delete(scope: Scope, taskId: string): Promise<number | undefined> {
    const now = this.clock().getTime();
    const key = [scope.namespace, scope.userId, taskId] as const;
    return this.database.transaction(() => {
      const task = this.database.get(
        "SELECT expires_at FROM working_tasks WHERE namespace = ? AND user_id = ? AND task_id = ?",
        ...key,
      );
      if (!task) return undefined;
      const cleared = deleteTask(this.database, key);
      return Number(task.expires_at) > now ? cleared : undefined;
    });
  }

  async deleteUser(scope: Scope): Promise<number> {
    const now = this.clock().getTime();
    const deleted = this.database.transaction(() => {
      const db = this.database;
      const live = db.get(
        "SELECT COUNT(*) AS n FROM working_tasks WHERE namespace = ? AND user_id = ? AND expires_at > ?",
        scope.namespace,
        scope.userId,
        now,
      );
      db.run("DELETE FROM working_entries WHERE namespace = ? AND user_id = ?", scope.namespace, scope.userId);
      db.run("DELETE FROM working_tasks WHERE namespace = ? AND user_id = ?", scope.namespace, scope.userId);
      return Number(live?.n ?? 0);
    });
    // ForgetUser: gone from the files too (see SqliteDatabase.erase).
    this.database.erase();
    return deleted;
  }

  /** Deletes expired tasks and their entries; how many tasks. */
  sweepExpired(): number {
    const now = this.clock().getTime();
    return this.database.transaction(() => {
      this.database.run(
        `DELETE FROM working_entries WHERE (namespace, user_id, task_id) IN
           (SELECT namespace, user_id, task_id FROM working_tasks WHERE expires_at <= ?)`,
        now,
      );
      return this.database.run("DELETE FROM working_tasks WHERE expires_at <= ?", now);
    });
  }
}

type TaskKey = readonly [string, string, string];

function readTask(db: SqliteDatabase, key: TaskKey, now: number): WorkingState | undefined {
  const task = db.get(
    "SELECT updated_at, expires_at FROM working_tasks WHERE namespace = ? AND user_id = ? AND task_id = ?",
    ...key,
  );
  if (!task || Number(task.expires_at) <= now) return undefined;
  // fromEntries defines own properties, so a key such as "__proto__" stays data.
  const entries = Object.fromEntries(
    db
      .all(
        "SELECT key, value FROM working_entries WHERE namespace = ? AND user_id = ? AND task_id = ? ORDER BY key",
        ...key,
      )
      .map((row) => [String(row.key), String(row.value)]),
  );
  return {
    taskId: key[2],
    entries,
    updatedAt: new Date(Number(task.updated_at)),
    expiresAt: new Date(Number(task.expires_at)),
  };
}

function deleteTask(db: SqliteDatabase, key: TaskKey): number {
  const cleared = db.run("DELETE FROM working_entries WHERE namespace = ? AND user_id = ? AND task_id = ?", ...key);
  db.run("DELETE FROM working_tasks WHERE namespace = ? AND user_id = ? AND task_id = ?", ...key);
  return cleared;
}
