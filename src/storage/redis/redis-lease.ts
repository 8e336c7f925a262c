import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { UnavailableError } from "../../domain/errors.js";
import { LuaScript, type RedisClient } from "./lua-script.js";
import { translateRedisErrors } from "./redis-errors.js";

/** Deletes the lock only if this holder still owns it: a late release never frees someone else's lease. */
const releaseScript = new LuaScript(
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
  "release",
);

/** Extends the lease only if this holder still owns it; 0 means it was lost. */
const renewScript = new LuaScript(
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`,
  "renew",
);

export interface LeaseTiming {
  /** How long a lease lasts if its holder dies without releasing it. */
  readonly leaseMs: number;
  /** How long a holder-to-be waits for the lease before answering UNAVAILABLE. */
  readonly waitMs: number;
  /**
   * How long a live holder keeps renewing its lease (default ten leases). A
   * section stuck longer than this (a call that never returns) stops renewing
   * and loses the lease one lease later, so one hang cannot lock a user forever.
   */
  readonly maxHoldMs?: number;
}

/**
 * A lease on one Redis key shared by every replica: SET NX with a random
 * token and an expiry, released by a compare-and-delete script. While its
 * section runs, the holder renews the lease every third of its length, so a
 * slow section (a large import under load) keeps exclusivity, while a holder
 * that dies stops renewing and frees the key one lease later.
 */
export class RedisLease {
  constructor(
    private readonly redis: RedisClient,
    private readonly timing: LeaseTiming,
  ) {}

  /** Runs `section` holding `key`; `busy` says what UNAVAILABLE reports when waiting runs out. */
  async hold<T>(key: string, busy: string, section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const token = randomUUID();
    await this.acquire(key, token, busy, signal);
    const stopRenewing = this.keepRenewed(key, token);
    try {
      return await section();
    } finally {
      stopRenewing();
      // A failed release (Redis just went away) is not the caller's failure:
      // the work is done, and the lease frees the lock in time. It never hangs
      // the caller: the command timeout (ENGRAM_REDIS_COMMAND_TIMEOUT_MS) starts
      // before ioredis queues a command, on a Cluster node's connection too,
      // whose offline queue ioredis always enables (contract test: "a holder
      // whose connection is gone").
      await releaseScript.run(this.redis, [key], [token]).catch(() => {});
    }
  }

  /** Renews the lease until stopped, lost, or held for `maxHoldMs`; returns the stop. */
  private keepRenewed(key: string, token: string): () => void {
    const { leaseMs } = this.timing;
    const renewUntil = Date.now() + (this.timing.maxHoldMs ?? 10 * leaseMs);
    const timer = setInterval(
      () => {
        if (Date.now() >= renewUntil) return clearInterval(timer);
        renewScript.run(this.redis, [key], [token, leaseMs]).then(
          (renewed) => {
            if (renewed === 0) clearInterval(timer); // lost: someone else holds it now
          },
          () => {}, // Redis away for a moment: the next tick tries again while the lease lasts
        );
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  private async acquire(key: string, token: string, busy: string, signal?: AbortSignal): Promise<void> {
    const giveUpAt = Date.now() + this.timing.waitMs;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const taken = await translateRedisErrors(() => this.redis.set(key, token, "PX", this.timing.leaseMs, "NX"));
      if (taken === "OK") return;
      if (Date.now() >= giveUpAt) throw new UnavailableError("redis", busy);
      // Short, jittered waits that grow to at most 100 ms.
      await delay(Math.min(5 * 2 ** attempt, 100) * (0.5 + Math.random()), undefined, { signal }).catch((error) => {
        signal?.throwIfAborted(); // the caller's own reason (its deadline), not a bare AbortError
        throw error;
      });
    }
  }
}
