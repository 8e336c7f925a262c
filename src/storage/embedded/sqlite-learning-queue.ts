import type { ClaimedJob, LearningJob, LearningQueue, LearningReason } from "../../domain/ports.js";
import type { SqliteDatabase } from "./sqlite-database.js";

/**
 * The learning queue as a table in the embedded database. A job is claimed
 * by stamping a lease on it and deleted when done; one job per session and
 * reason is enough (a second enqueue while one waits adds nothing, since a
 * job reads the session as it is when it runs).
 */
export class SqliteLearningQueue implements LearningQueue {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async enqueue(job: LearningJob): Promise<void> {
    // An unclaimed duplicate already covers this job; a claimed one may have read the session before it changed.
    this.database.transaction(() => {
      const key = [job.scope.namespace, job.scope.userId, job.sessionId, job.reason] as const;
      const existing = this.database.get(
        "SELECT claimed_until FROM learning_jobs WHERE namespace = ? AND user_id = ? AND session_id = ? AND reason = ?",
        ...key,
      );
      if (existing && Number(existing.claimed_until) === 0) return;
      this.database.run(
        `INSERT INTO learning_jobs (namespace, user_id, session_id, reason, enqueued_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (namespace, user_id, session_id, reason) DO UPDATE SET claimed_until = 0, enqueued_at = excluded.enqueued_at`,
        ...key,
        job.enqueuedAt.getTime(),
      );
    });
  }

  async claim(limit: number, leaseMs: number): Promise<ClaimedJob[]> {
    const now = this.clock().getTime();
    const rows = this.database.all(
      `UPDATE learning_jobs SET claimed_until = ?
       WHERE id IN (SELECT id FROM learning_jobs WHERE claimed_until < ? ORDER BY id LIMIT ?)
       RETURNING id, namespace, user_id, session_id, reason, enqueued_at, claimed_until`,
      now + leaseMs,
      now,
      limit,
    );
    return rows.map((r) => ({
      receipt: `${String(r.id)}:${String(r.claimed_until)}`,
      scope: { namespace: String(r.namespace), userId: String(r.user_id) },
      sessionId: String(r.session_id),
      reason: String(r.reason) as LearningReason,
      enqueuedAt: new Date(Number(r.enqueued_at)),
    }));
  }

  async ack(job: ClaimedJob): Promise<void> {
    // Only this delivery's claim: a job enqueued again meanwhile (claim reset to 0) stays for another run.
    const [id, claimedUntil] = job.receipt.split(":");
    this.database.run("DELETE FROM learning_jobs WHERE id = ? AND claimed_until = ?", Number(id), Number(claimedUntil));
  }

  async depth(): Promise<number> {
    return Number(this.database.get("SELECT COUNT(*) AS n FROM learning_jobs")?.n ?? 0);
  }

  /** The embedded store belongs to one server process: claims in the file are from its previous life. */
  async releaseStaleClaims(): Promise<void> {
    this.database.run("UPDATE learning_jobs SET claimed_until = 0 WHERE claimed_until > 0");
  }
}
