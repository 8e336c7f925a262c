import { NotFoundError } from "./errors.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { GateDecision, MemoryIntake } from "./memory-intake.js";
import type { ClaimedJob, LearningQueue, LearningReason, SessionLease, SessionRef, SessionStore } from "./ports.js";
import type { ModelExtraction } from "./model-extraction.js";
import { MalformedModelOutputError } from "./models.js";
import type { ShortTermMemory } from "./short-term-memory.js";
import type { Scope, SessionSnapshot } from "./types.js";
import { requireId, requireScope } from "./validation.js";

export interface LearningOptions {
  /** Sessions without an append for this long are learnt from (before their TTL deletes them). */
  readonly idleSeconds: number;
  /** A claimed job not finished within this is delivered again (its worker died or failed). */
  readonly leaseMs: number;
  /** Jobs one process runs at once (different sessions). */
  readonly concurrency: number;
  /** How often an idle worker looks for jobs. */
  readonly pollMs: number;
  /** How often the idle sweep runs. */
  readonly sweepMs: number;
}

/** What learning reports besides its return values (metrics, logs). */
export interface LearningEvents {
  /** A batch of messages was learnt from: how many, and how long after the oldest was said. */
  learnt?(info: { reason: LearningReason | "end"; messages: number; lagMs: number }): void;
  /** A job failed; it is delivered again after its lease. */
  learningFailed?(error: unknown, reason: LearningReason): void;
  /** A model's extraction was malformed even after a retry: the batch was dropped, nothing of it applied. */
  extractionMalformed?(error: MalformedModelOutputError, trigger: LearningReason | "end"): void;
}

/** Sessions one sweep queues at most; the next sweep takes the rest. */
const sweepBatch = 200;

/**
 * Learning from every message exactly once. A per-session watermark says
 * which messages long-term memory has seen; extraction takes the messages
 * past it, writes what they teach through the one intake pipeline, then
 * moves the watermark with a conditional commit. It runs
 *   - before compaction folds messages (compaction never folds past the watermark),
 *   - on EndSession, before the messages are deleted,
 *   - on sessions idle longer than `idleSeconds` (a periodic sweep), before their TTL.
 * Compaction and idle extraction run off the request path, from a durable
 * queue (a Redis stream, or a table in the embedded database), one at a time
 * per session: in-process order, and a lease shared by replicas.
 * A crash after memories were written but before the watermark moved makes
 * the batch run again; settlement merges the repeated memories into the
 * first ones, so nothing is learnt twice.
 */
export class SessionLearning {
  private readonly turns = new KeyedMutex();
  private readonly running = new Set<Promise<void>>();
  private pollTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = true;

  constructor(
    private readonly sessions: SessionStore,
    private readonly queue: LearningQueue,
    private readonly lease: SessionLease | undefined,
    private readonly shortTerm: ShortTermMemory,
    private readonly intake: MemoryIntake,
    private readonly options: LearningOptions,
    private readonly events: LearningEvents = {},
    /** With a model configured: standalone statements from each batch, instead of the gate's rules. */
    private readonly extraction?: ModelExtraction,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Queues background work for a session (durably: it survives a restart). */
  schedule(ref: SessionRef, reason: LearningReason): Promise<void> {
    return this.queue.enqueue({ ...ref, reason, enqueuedAt: this.clock() });
  }

  /** Jobs waiting or in progress, for the queue-depth metric. */
  depth(): Promise<number> {
    return this.queue.depth();
  }

  /** Starts the workers and the idle sweep (the server does; one-shot commands do not). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.queue.releaseStaleClaims?.();
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollMs);
    this.pollTimer.unref();
    this.sweepTimer = setInterval(() => void this.sweep().catch(() => {}), this.options.sweepMs);
    this.sweepTimer.unref();
  }

  /** Stops taking jobs and waits for those running; unfinished ones are delivered again later. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.sweepTimer);
    await Promise.allSettled([...this.running]);
  }

  /**
   * Ends a session: learns from the messages not learnt from yet, then
   * deletes the session. A failure part-way leaves the session for a retry.
   */
  async endSession(
    scope: Scope,
    sessionId: string,
    signal?: AbortSignal,
  ): Promise<{ messageCount: number; decisions: GateDecision[] }> {
    requireScope(scope);
    requireId(sessionId, "session_id");
    const ref = { scope, sessionId };
    return this.inSessionTurn(
      ref,
      async () => {
        const snapshot = await this.sessions.read(scope, sessionId);
        if (!snapshot) throw new NotFoundError("session", sessionId);
        const decisions = await this.learn(ref, snapshot, Number.MAX_SAFE_INTEGER, "end", signal);
        const messageCount = await this.shortTerm.end(scope, sessionId);
        return { messageCount, decisions };
      },
      signal,
    );
  }

  /** Queues every idle session that holds messages not learnt from yet. */
  async sweep(): Promise<number> {
    const activeBefore = new Date(this.clock().getTime() - this.options.idleSeconds * 1000);
    const idle = await this.sessions.idleSessions(activeBefore, sweepBatch);
    for (const ref of idle) await this.schedule(ref, "idle");
    return idle.length;
  }

  /** Claims what this process has room for and runs it. */
  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const room = this.options.concurrency - this.running.size;
      if (room <= 0) return;
      for (const job of await this.queue.claim(room, this.options.leaseMs)) {
        const run = this.run(job).finally(() => this.running.delete(run));
        this.running.add(run);
      }
    } catch {
      // The store is unreachable: its health check reports it; the next poll retries.
    } finally {
      this.polling = false;
    }
  }

  private async run(job: ClaimedJob): Promise<void> {
    try {
      await this.inSessionTurn(job, () => this.process(job));
      await this.queue.ack(job);
    } catch (error) {
      this.events.learningFailed?.(error, job.reason);
    }
  }

  /** One job: learn from what compaction is about to fold and compact, or learn from an idle session. */
  private async process(job: ClaimedJob): Promise<void> {
    const snapshot = await this.sessions.read(job.scope, job.sessionId);
    if (!snapshot) return; // ended or expired meanwhile: nothing left to do
    if (job.reason === "idle") {
      await this.learn(job, snapshot, Number.MAX_SAFE_INTEGER, "idle");
      return;
    }
    const through = this.shortTerm.plan(snapshot);
    if (through === undefined) return;
    await this.learn(job, snapshot, through, "compaction");
    await this.shortTerm.compact(job.scope, job.sessionId);
  }

  /**
   * Learns from the messages past the watermark up to `through`, then moves
   * the watermark. Run only in the session's turn, so the watermark read
   * with the snapshot is still current when it is committed.
   */
  private async learn(
    ref: SessionRef,
    snapshot: SessionSnapshot,
    through: number,
    reason: LearningReason | "end",
    signal?: AbortSignal,
  ): Promise<GateDecision[]> {
    const from = snapshot.extractedThroughSequence;
    const batch = snapshot.messages.filter((m) => m.sequence > from && m.sequence <= through);
    if (batch.length === 0) return [];
    let decisions: GateDecision[] = [];
    try {
      decisions = this.extraction
        ? await this.extraction.learn(ref.scope, ref.sessionId, snapshot, batch, signal)
        : await this.intake.extract(ref.scope, ref.sessionId, batch, signal);
    } catch (error) {
      // Output that is wrong twice would be wrong again: the batch is dropped, counted, and nothing of it written.
      if (!(error instanceof MalformedModelOutputError)) throw error;
      this.events.extractionMalformed?.(error, reason);
    }
    // A conflict means the session was ended or expired meanwhile: there is nothing left to mark.
    await this.sessions.commitExtraction(ref.scope, ref.sessionId, from, batch.at(-1)!.sequence);
    const oldest = Math.min(...batch.map((m) => m.createdAt.getTime()));
    this.events.learnt?.({ reason, messages: batch.length, lagMs: this.clock().getTime() - oldest });
    return decisions;
  }

  /** Runs `section` as the only learner of this session, in this process and across replicas. */
  private inSessionTurn<T>(ref: SessionRef, section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const key = `${ref.scope.namespace}\u0000${ref.scope.userId}\u0000${ref.sessionId}`;
    return this.turns.run(key, () => (this.lease ? this.lease.hold(ref, section, signal) : section()));
  }
}
