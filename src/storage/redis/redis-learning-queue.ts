import { randomUUID } from "node:crypto";
import type {
  ClaimedJob,
  LearningJob,
  LearningQueue,
  LearningReason,
  SessionLease,
  SessionRef,
} from "../../domain/ports.js";
import type { RedisClient } from "./lua-script.js";
import type { RedisKeys } from "./redis-keys.js";
import { translateRedisErrors } from "./redis-errors.js";
import { awaitReplicaAcknowledgement } from "./replica-acknowledgement.js";
import { RedisLease, type LeaseTiming } from "./redis-lease.js";

const group = "learners";

/**
 * The learning queue as a Redis stream with a consumer group: a job is
 * delivered to one replica, acknowledged (and deleted) when done, and one
 * left pending longer than its lease (its replica died or failed) is taken
 * over by another with XAUTOCLAIM. So a crash between "compacted" and
 * "learnt" loses nothing.
 */
export class RedisLearningQueue implements LearningQueue {
  /** This process's name in the consumer group. */
  private readonly consumer = `engram-${randomUUID()}`;
  private groupReady: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  enqueue(job: LearningJob): Promise<void> {
    return translateRedisErrors(async () => {
      await this.redis.xadd(
        this.keys.learningStream(),
        "*",
        "job",
        JSON.stringify([job.scope.namespace, job.scope.userId, job.sessionId, job.reason, job.enqueuedAt.getTime()]),
      );
      // A learning job is an acknowledged promise to learn: it must survive a failover like any write.
      await awaitReplicaAcknowledgement(this.redis);
    });
  }

  claim(limit: number, leaseMs: number): Promise<ClaimedJob[]> {
    return translateRedisErrors(async () => {
      await this.ensureGroup();
      const stream = this.keys.learningStream();
      // Jobs another consumer took and never acknowledged within the lease come first.
      const [, reclaimed] = (await this.redis.xautoclaim(
        stream,
        group,
        this.consumer,
        leaseMs,
        "0-0",
        "COUNT",
        limit,
      )) as [string, [string, string[]][]];
      const entries = [...reclaimed];
      if (entries.length < limit) {
        const fresh = (await this.redis.xreadgroup(
          "GROUP",
          group,
          this.consumer,
          "COUNT",
          limit - entries.length,
          "STREAMS",
          stream,
          ">",
        )) as [string, [string, string[]][]][] | null;
        for (const [, items] of fresh ?? []) entries.push(...items);
      }
      return entries.flatMap(([id, fields]) => {
        const body = fields[fields.indexOf("job") + 1];
        if (body === undefined) return [];
        const [namespace, userId, sessionId, reason, enqueuedAt] = JSON.parse(body) as [
          string,
          string,
          string,
          LearningReason,
          number,
        ];
        return [{ receipt: id, scope: { namespace, userId }, sessionId, reason, enqueuedAt: new Date(enqueuedAt) }];
      });
    });
  }

  ack(job: ClaimedJob): Promise<void> {
    return translateRedisErrors(async () => {
      const stream = this.keys.learningStream();
      await this.redis.multi().xack(stream, group, job.receipt).xdel(stream, job.receipt).exec();
    });
  }

  depth(): Promise<number> {
    return translateRedisErrors(() => this.redis.xlen(this.keys.learningStream()));
  }

  private ensureGroup(): Promise<void> {
    this.groupReady ??= (async () => {
      try {
        // From the stream's start: jobs enqueued before any replica made the group are not skipped.
        await this.redis.xgroup("CREATE", this.keys.learningStream(), group, "0", "MKSTREAM");
      } catch (error) {
        if (!(error instanceof Error && error.message.includes("BUSYGROUP"))) {
          this.groupReady = undefined;
          throw error;
        }
      }
    })();
    return this.groupReady;
  }
}

/** One learner per session across replicas: a lease on a key beside the session's own. */
export class RedisSessionLease implements SessionLease {
  private readonly lease: RedisLease;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly timing: LeaseTiming,
  ) {
    this.lease = new RedisLease(redis, timing);
  }

  hold<T>(ref: SessionRef, section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.lease.hold(
      this.keys.sessionLease(ref.scope, ref.sessionId),
      `session "${ref.sessionId}" has been learnt from for ${this.timing.waitMs / 1000} s; retry later`,
      section,
      signal,
    );
  }
}
