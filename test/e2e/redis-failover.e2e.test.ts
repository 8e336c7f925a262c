import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { openClient } from "../support/clients.js";
import { sleep } from "../support/memory-fixtures.js";
import { startRedisSentinelGroup, type RedisSentinelGroup } from "../support/redis-servers.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Redis with a primary, a replica and three sentinels: the replica is
 * promoted while several clients append messages and set working memory.
 * Engram finds the new primary through the sentinels by itself; callers see
 * UNAVAILABLE at most. Redis replicates asynchronously; in Sentinel mode
 * Engram waits by default for one replica to hold each write
 * (ENGRAM_REDIS_WAIT_REPLICAS=1), so neither a planned nor an unplanned
 * failover loses anything acknowledged. With the wait turned off, the
 * same planned failover does lose acknowledged writes: the last test shows it.
 */
let group: RedisSentinelGroup | undefined;
let server: TestServer | undefined;
afterEach(async () => {
  await server?.destroy();
  await group?.stop();
  server = undefined;
  group = undefined;
});

async function startEngram(redis: RedisSentinelGroup, env: Record<string, string> = {}): Promise<TestServer> {
  return startTestServer({
    ENGRAM_REDIS_SENTINELS: redis.sentinels.join(","),
    ENGRAM_REDIS_SENTINEL_MASTER: redis.masterName,
    ENGRAM_REDIS_COMMAND_TIMEOUT_MS: "500",
    ENGRAM_REDIS_CONNECT_TIMEOUT_MS: "500",
    // No compaction: every acknowledged message must still be verbatim.
    ENGRAM_SESSION_TOKEN_LIMIT: "1000000",
    ...env,
  });
}

/**
 * Four clients, each alternating AppendMessages and SetWorking, until 100
 * calls have succeeded after they were told the failover is over. Bounded by
 * time, not by a count of calls: while a loaded machine promotes and resyncs,
 * calls fail fast and a count ran out before the recovery (once in 25 runs).
 * Every acknowledgement records the phase it came in (`mark`), so a lost
 * write says when it was acknowledged.
 */
function traffic(engram: TestServer) {
  const { client } = openClient("grpc", engram.baseUrl);
  const scope = { namespace: "failover", userId: "u1" };
  const acknowledgedMessages: string[] = [];
  const acknowledgedEntries = new Map<string, string>();
  const acknowledgedIn = new Map<string, string>();
  const codes = new Map<string, number>();
  let phase = "before";
  let recovered = false;
  let successesAfter = 0;
  const deadline = Date.now() + 100_000;
  const writer = async (w: number) => {
    for (let i = 0; successesAfter < 100 && Date.now() < deadline; i++) {
      try {
        if (i % 2 === 0) {
          const content = `w${w}-${i}`;
          await client.appendMessages(
            { scope, sessionId: "s", messages: [{ role: Role.USER, content }] },
            { timeoutMs: 3000 },
          );
          acknowledgedMessages.push(content);
          acknowledgedIn.set(content, phase);
        } else {
          await client.setWorking({ scope, taskId: `t${w}`, entries: { [`k${i}`]: `v${i}` } }, { timeoutMs: 3000 });
          acknowledgedEntries.set(`t${w}/k${i}`, `v${i}`);
          acknowledgedIn.set(`t${w}/k${i}`, phase);
        }
        if (recovered) successesAfter++;
      } catch (error) {
        const code = Code[ConnectError.from(error).code];
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      await sleep(5);
    }
  };
  const done = Promise.all([0, 1, 2, 3].map(writer));
  return {
    acknowledgedMessages,
    codes,
    /** Names the phase that acknowledgements from now on come in. */
    mark: (name: string) => (phase = name),
    markRecovered: () => {
      recovered = true;
      phase = "recovered";
    },
    successesAfter: () => successesAfter,
    done,
    /** The phase each acknowledged write came in ("before", "recovered", ...). */
    acknowledgedIn,
    /** The acknowledged writes that the service cannot read back. */
    lost: async () => {
      const stored = new Set(
        (await readAgain(() => client.getMessages({ scope, sessionId: "s" }))).messages.map((m) => m.content),
      );
      const lost = acknowledgedMessages.filter((content) => !stored.has(content));
      for (const w of [0, 1, 2, 3]) {
        const entries = (await readAgain(() => client.getWorking({ scope, taskId: `t${w}` }))).state?.entries ?? {};
        for (const [key, value] of acknowledgedEntries) {
          const [task, entry] = key.split("/") as [string, string];
          if (task === `t${w}` && entries[entry] !== value) lost.push(key);
        }
      }
      return lost;
    },
  };
}

/**
 * A read, again while it is UNAVAILABLE (for up to 30 s): on a starved machine the sentinels can fail the
 * primary over once more after the test's own failover, and what is lost is asked once that has settled.
 */
async function readAgain<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt === 100 || ConnectError.from(error).code !== Code.Unavailable) throw error;
      await sleep(300);
    }
  }
}

/** A failover on a starved machine takes a while: calls go on until the writers' 100 s bound, at most. */
const failoverTestTimeoutMs = 150_000;

/** The lost writes, each with the phase it was acknowledged in: what a failure needs to be explained. */
async function lostWrites(load: ReturnType<typeof traffic>): Promise<string[]> {
  return (await load.lost()).map((write) => `${write} (acknowledged ${load.acknowledgedIn.get(write) ?? "?"})`);
}

describe("Redis failover through Sentinel", () => {
  it(
    "a planned failover: Engram follows the new primary by itself and callers see UNAVAILABLE at most",
    async () => {
      group = await startRedisSentinelGroup();
      server = await startEngram(group);
      const load = traffic(server);
      await expect.poll(() => load.acknowledgedMessages.length, { timeout: 10_000 }).toBeGreaterThan(50);

      const oldPrimary = await group.primaryPort();
      load.mark("failing over");
      await group.failover();
      const newPrimary = await group.awaitNewPrimary(oldPrimary);
      load.markRecovered();
      await load.done;

      expect(newPrimary).not.toBe(oldPrimary);
      expect(load.successesAfter()).toBeGreaterThanOrEqual(100);
      expect([...load.codes.keys()].filter((code) => code !== "Unavailable")).toEqual([]);
      expect(await lostWrites(load)).toEqual([]);
    },
    failoverTestTimeoutMs,
  );

  it(
    "an unplanned failover (SIGKILL of the primary) loses nothing acknowledged",
    async () => {
      group = await startRedisSentinelGroup();
      server = await startEngram(group, { ENGRAM_REDIS_WAIT_TIMEOUT_MS: "500" });
      const load = traffic(server);
      await expect.poll(() => load.acknowledgedMessages.length, { timeout: 10_000 }).toBeGreaterThan(50);

      const oldPrimary = await group.primaryPort();
      load.mark("primary killed");
      await group.killPrimary();
      await group.awaitNewPrimary(oldPrimary);
      load.mark("replica promoted");
      // With its only replica gone the new primary cannot acknowledge a write: writes are UNAVAILABLE
      // (not silently unreplicated) until the old node is back, as a replica of the new primary.
      await expect.poll(() => load.codes.get("Unavailable") ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
      load.mark("old primary restarting");
      await group.restartNode(oldPrimary);
      load.markRecovered();
      await load.done;

      expect(load.successesAfter()).toBeGreaterThanOrEqual(100);
      expect([...load.codes.keys()]).toEqual(["Unavailable"]);
      expect(await lostWrites(load)).toEqual([]);
    },
    failoverTestTimeoutMs,
  );

  it(
    "with ENGRAM_REDIS_WAIT_REPLICAS=0, the same planned failover loses acknowledged writes (why the wait is the default)",
    async () => {
      group = await startRedisSentinelGroup();
      server = await startEngram(group, { ENGRAM_REDIS_WAIT_REPLICAS: "0" });
      const load = traffic(server);
      await expect.poll(() => load.acknowledgedMessages.length, { timeout: 10_000 }).toBeGreaterThan(50);
      const oldPrimary = await group.primaryPort();
      await group.failover();
      await group.awaitNewPrimary(oldPrimary);
      load.markRecovered();
      await load.done;

      // Engram still follows the new primary by itself...
      expect(load.successesAfter()).toBeGreaterThanOrEqual(100);
      expect([...load.codes.keys()].filter((code) => code !== "Unavailable")).toEqual([]);
      // ...but the old primary's last acknowledged writes are gone. How many depends on timing, so the
      // figure is reported; the default's guarantee is what the tests above assert.
      const lost = await load.lost();
      console.info(
        `planned failover with the wait off: ${load.acknowledgedMessages.length} messages acknowledged, ${lost.length} writes lost`,
      );
    },
    failoverTestTimeoutMs,
  );
});
