import type { Scope } from "../../domain/types.js";
import type { UserWriteLock } from "../../domain/ports.js";
import type { RedisClient } from "./lua-script.js";
import type { RedisKeys } from "./redis-keys.js";
import { RedisLease, type LeaseTiming } from "./redis-lease.js";

export type UserWriteLockTiming = LeaseTiming;

export const defaultUserWriteLockTiming: UserWriteLockTiming = { leaseMs: 30_000, waitMs: 10_000 };

/**
 * The per-user write lock on Redis, shared by every replica. The key carries
 * the user's hash tag, so on Cluster it lives beside the user's other keys.
 * The lease is far longer than a settling write (a search and a few writes,
 * each bounded by the backend timeouts).
 */
export class RedisUserWriteLock implements UserWriteLock {
  private readonly lease: RedisLease;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly timing: UserWriteLockTiming = defaultUserWriteLockTiming,
  ) {
    this.lease = new RedisLease(redis, timing);
  }

  hold<T>(scope: Scope, section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.lease.hold(
      this.keys.writeLock(scope),
      `user "${scope.userId}" has had a long-term write in progress for ${this.timing.waitMs / 1000} s; retry later`,
      section,
      signal,
    );
  }
}
