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

export interface LeaseTiming {
  /** How long a lease lasts if its holder dies without releasing it. */
  readonly leaseMs: number;
  /** How long a holder-to-be waits for the lease before answering UNAVAILABLE. */
  readonly waitMs: number;
}

/**
 * A lease on one Redis key shared by every replica: SET NX with a random
 * token and an expiry, released by a compare-and-delete script. A holder
 * that outlives its lease loses exclusivity, so a lease must be far longer
 * than the section it guards.
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
    try {
      return await section();
    } finally {
      // A failed release (Redis just went away) is not the caller's failure:
      // the work is done, and the lease frees the lock in time.
      await releaseScript.run(this.redis, [key], [token]).catch(() => {});
    }
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
