import { randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnavailableError } from "../../src/domain/errors.js";
import { openRedisStores, type RedisStores } from "../../src/storage/redis/redis-stores.js";
import { RedisKeys } from "../../src/storage/redis/redis-keys.js";
import { RedisUserWriteLock, type UserWriteLockTiming } from "../../src/storage/redis/redis-user-write-lock.js";
import type { Scope } from "../../src/domain/types.js";
import { freshScope, sleep } from "../support/memory-fixtures.js";
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from "../support/redis-servers.js";

/**
 * The shared per-user write lock on real Redis, standalone and Cluster. Each
 * "replica" is its own connection, as separate processes would be.
 */
let standalone: RedisServer;
let cluster: RedisCluster;
const opened: RedisStores[] = [];
beforeAll(async () => {
  [standalone, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
}, 60_000);
afterAll(async () => {
  await Promise.all(opened.map((r) => r.close()));
  await standalone?.stop();
  await cluster?.stop();
});

/** Holds the user's lock until `release`; `inside` resolves once the section has the lock. */
function holdOpen(lock: RedisUserWriteLock, scope: Scope) {
  let entered!: () => void;
  let release!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const done = lock.hold(scope, () => {
    entered();
    return new Promise<void>((resolve) => (release = resolve));
  });
  return { inside, done, release: () => release() };
}

const deployments: [string, () => { url?: string; clusterNodes?: readonly string[] }][] = [
  ["standalone Redis", () => ({ url: standalone.url })],
  ["Redis Cluster", () => ({ clusterNodes: cluster.nodes })],
];

describe.each(deployments)("RedisUserWriteLock on %s", (_, target) => {
  const prefix = `lock-${randomUUID()}`;
  async function replica(
    timing: UserWriteLockTiming = { leaseMs: 30_000, waitMs: 10_000 },
  ): Promise<RedisUserWriteLock> {
    return (await replicaProcess(timing)).lock;
  }
  /** A replica with its connection, so a test can make it die: no more renewals, no release. */
  async function replicaProcess(timing: UserWriteLockTiming, commandTimeoutMs = 5000) {
    const redis = openRedisStores({
      url: target().url,
      clusterNodes: target().clusterNodes ?? [],
      keyPrefix: prefix,
      commandTimeoutMs,
      connectTimeoutMs: 5000,
    });
    opened.push(redis);
    if (!(await redis.connected)) throw new Error("Redis did not become ready");
    return {
      lock: new RedisUserWriteLock(redis.client, new RedisKeys(prefix), timing),
      die: () => {
        // Not closed again at the end: a dead process's connection is gone.
        opened.splice(opened.indexOf(redis), 1);
        redis.client.disconnect();
      },
      /** The network goes quiet: the connection stays open, nothing comes back (a partition). */
      partition: () => {
        const client = redis.client;
        for (const node of client instanceof Cluster ? client.nodes() : [client]) node.stream.pause();
      },
    };
  }

  it("lets one replica at a time into a user's section, and different users in parallel", async () => {
    const [a, b] = [await replica(), await replica()];
    const scope = freshScope();
    let inside = 0;
    let most = 0;
    const section = async () => {
      inside++;
      most = Math.max(most, inside);
      await sleep(5);
      inside--;
    };
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).hold(scope, section)));
    expect(most).toBe(1);

    let otherUserRan = false;
    const held = holdOpen(a, scope);
    await held.inside;
    await b.hold(freshScope(), async () => {
      otherUserRan = true;
    });
    expect(otherUserRan).toBe(true);
    held.release();
    await held.done;
  });

  it("keeps a live holder's lock past its lease by renewing it", async () => {
    const a = await replica({ leaseMs: 300, waitMs: 10_000 });
    const b = await replica();
    const scope = freshScope();
    const order: string[] = [];
    const first = a.hold(scope, async () => {
      order.push("a in");
      await sleep(1500); // five leases: without renewal B would get in half way
      order.push("a out");
    });
    await expect.poll(() => order.length).toBe(1);
    await b.hold(scope, async () => {
      order.push("b in");
    });
    await first;
    expect(order).toEqual(["a in", "a out", "b in"]);
  });

  it("frees a crashed holder's lock when its lease ends", async () => {
    const [dying, other] = await Promise.all([replicaProcess({ leaseMs: 300, waitMs: 10_000 }), replica()]);
    const scope = freshScope();
    const stuck = holdOpen(dying.lock, scope);
    await stuck.inside;
    dying.die(); // a dead process renews nothing and releases nothing; its section never ends
    let otherInside = false;
    await other.hold(scope, async () => {
      otherInside = true;
    });
    expect(otherInside).toBe(true);
  });

  it.each(["closed", "silent"] as const)(
    "returns its section's result to a holder whose connection is gone (%s), the release never hangs it",
    async (how) => {
      // A release that cannot reach Redis fails within the command timeout, and the lease ends on its own.
      const dying = await replicaProcess({ leaseMs: 300, waitMs: 10_000 }, 500);
      const scope = freshScope();
      let finish!: () => void;
      const held = dying.lock.hold(scope, async () => {
        await new Promise<void>((resolve) => (finish = resolve));
        return "written";
      });
      await expect.poll(() => finish !== undefined).toBe(true);
      if (how === "closed") dying.die();
      else dying.partition();
      let otherInside = false;
      await (
        await replica()
      ).hold(scope, async () => {
        otherInside = true;
      });
      expect(otherInside).toBe(true);
      // The section ends after the lease did (a slow write on a partitioned replica).
      finish();
      await expect(held).resolves.toBe("written");
    },
  );

  it("takes the lock from a holder stuck past its longest hold, and its late release frees nothing", async () => {
    const a = await replica({ leaseMs: 300, waitMs: 10_000, maxHoldMs: 600 });
    const b = await replica();
    const scope = freshScope();
    const stuck = holdOpen(a, scope);
    await stuck.inside;
    let bInside = false;
    let finishB!: () => void;
    const next = b.hold(scope, async () => {
      bInside = true;
      await new Promise<void>((resolve) => (finishB = resolve));
    });
    await expect.poll(() => bInside, { timeout: 10_000 }).toBe(true);
    // A wakes up after its lease and releases: B's lock must survive it.
    stuck.release();
    await stuck.done;
    const c = await replica({ leaseMs: 30_000, waitMs: 200 });
    await expect(c.hold(scope, async () => {})).rejects.toBeInstanceOf(UnavailableError);
    finishB();
    await next;
    await c.hold(scope, async () => {});
  });

  it("answers UNAVAILABLE after waiting its limit, and stops waiting when the caller gives up", async () => {
    const holder = await replica();
    const scope = freshScope();
    const held = holdOpen(holder, scope);
    await held.inside;
    const impatient = await replica({ leaseMs: 30_000, waitMs: 150 });
    await expect(impatient.hold(scope, async () => {})).rejects.toThrow(/retry later/);
    const cancelled = new AbortController();
    const waiting = (await replica()).hold(scope, async () => {}, cancelled.signal);
    cancelled.abort(new Error("caller gave up"));
    await expect(waiting).rejects.toThrow("caller gave up");
    held.release();
    await held.done;
  });

  it("releases the lock when the section fails, and passes the failure on", async () => {
    const lock = await replica({ leaseMs: 30_000, waitMs: 500 });
    const scope = freshScope();
    await expect(
      lock.hold(scope, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await lock.hold(scope, async () => {});
  });
});
