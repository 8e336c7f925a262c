import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { UnavailableError } from "../../domain/errors.js";
import type { Scope } from "../../domain/types.js";
import type { UserWriteLock } from "../../domain/ports.js";
import { LuaScript, type RedisClient } from "./lua-script.js";
import type { RedisKeys } from "./redis-keys.js";
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

export interface UserWriteLockTiming {
  /** How long a lease lasts if its holder dies without releasing it. */
  readonly leaseMs: number;
  /** How long a writer waits for the lock before answering UNAVAILABLE. */
  readonly waitMs: number;
}

export const defaultUserWriteLockTiming: UserWriteLockTiming = { leaseMs: 30_000, waitMs: 10_000 };

/**
 * The per-user write lock on Redis, shared by every replica: SET NX with a
 * random token and a lease, released by a compare-and-delete script. The
 * key carries the user's hash tag, so on Cluster it lives beside the user's
 * other keys. A holder that outlives its lease loses exclusivity, so the
 * lease is far longer than a settling write (a search and a few writes, each
 * bounded by the backend timeouts).
 */
export class RedisUserWriteLock implements UserWriteLock {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly timing: UserWriteLockTiming = defaultUserWriteLockTiming,
  ) {}

  async hold<T>(scope: Scope, section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const key = this.keys.writeLock(scope);
    const token = randomUUID();
    await this.acquire(scope, key, token, signal);
    try {
      return await section();
    } finally {
      // A failed release (Redis just went away) is not the caller's failure:
      // the write is done, and the lease frees the lock in time.
      await releaseScript.run(this.redis, [key], [token]).catch(() => {});
    }
  }

  private async acquire(scope: Scope, key: string, token: string, signal?: AbortSignal): Promise<void> {
    const giveUpAt = Date.now() + this.timing.waitMs;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const taken = await translateRedisErrors(() => this.redis.set(key, token, "PX", this.timing.leaseMs, "NX"));
      if (taken === "OK") return;
      if (Date.now() >= giveUpAt) {
        throw new UnavailableError(
          "redis",
          `user "${scope.userId}" has had a long-term write in progress for ${this.timing.waitMs / 1000} s; retry later`,
        );
      }
      // Short, jittered waits: settling writes take milliseconds.
      await delay(Math.min(5 * 2 ** attempt, 100) * (0.5 + Math.random()), undefined, { signal }).catch((error) => {
        signal?.throwIfAborted(); // the caller's own reason (its deadline), not a bare AbortError
        throw error;
      });
    }
  }
}
