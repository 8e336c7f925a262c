import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Summariser, SummaryLine } from "../../src/domain/models.js";
import { ShortTermMemory } from "../../src/domain/short-term-memory.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { openRedisStores } from "../../src/storage/redis/redis-stores.js";
import type { SessionStore } from "../../src/domain/ports.js";
import { dimensions, freshScope, sleep } from "../support/memory-fixtures.js";
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from "../support/redis-servers.js";

/**
 * Many writers append to one session through several Engram replicas while
 * every append triggers a (slow) compaction. Afterwards each message must be
 * either verbatim in the session or folded into the committed summary:
 * none lost, none duplicated, each writer's order kept.
 */

/** A "summary" that keeps every folded line, so the test can audit it; slow, to widen races. */
class AuditableSummariser implements Summariser {
  async summarise(previous: string, lines: readonly SummaryLine[]): Promise<string> {
    await sleep(5 + Math.random() * 20);
    return [previous, ...lines.map((l) => l.content)].filter((l) => l !== "").join("\n");
  }
}

let redis: RedisServer;
let cluster: RedisCluster;
const dir = mkdtempSync(join(tmpdir(), "engram-concurrency-"));
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
}, 60_000);
afterAll(async () => {
  await redis?.stop();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Replicas = { stores: SessionStore[]; close(): Promise<void> };

const backends: [string, () => Promise<Replicas>][] = [
  [
    "embedded",
    async () => {
      const stores = [0, 1, 2].map(() => openEmbeddedStores({ path: join(dir, "shared.db"), dimensions }));
      return {
        stores: stores.map((s) => s.sessions),
        close: async () => void (await Promise.all(stores.map((s) => s.close()))),
      };
    },
  ],
  ["Redis", () => redisReplicas({ url: redis.url })],
  ["Redis Cluster", () => redisReplicas({ clusterNodes: cluster.nodes })],
];

async function redisReplicas(config: { url?: string; clusterNodes?: readonly string[] }): Promise<Replicas> {
  const replicas = [0, 1, 2].map(() =>
    openRedisStores({
      url: config.url,
      clusterNodes: config.clusterNodes ?? [],
      keyPrefix: "concurrency",
      commandTimeoutMs: 5000,
      connectTimeoutMs: 5000,
    }),
  );
  await Promise.all(replicas.map((r) => r.connected));
  return {
    stores: replicas.map((r) => r.sessions),
    close: async () => void (await Promise.all(replicas.map((r) => r.close()))),
  };
}

describe.each(backends)("compaction under concurrent appends: %s", (_, open) => {
  it("loses and duplicates nothing across three replicas", async () => {
    const replicas = await open();
    try {
      const scope = freshScope();
      let compactions = 0;
      // Each replica compacts as soon as an append queues it, in the appending call: compactions race
      // appends and each other. Learning is not under test: every message counts as learnt from first.
      const engrams: ShortTermMemory[] = replicas.stores.map(
        (store, i) =>
          new ShortTermMemory(
            store,
            new AuditableSummariser(),
            // The audit needs every folded line kept: no cut to the summary limit.
            { sessionTtlSeconds: 600, compaction: { tokenLimit: 60, keepRecent: 3 }, summaryMaxTokens: 1_000_000 },
            {},
            async (scope, sessionId) => {
              const session = await store.read(scope, sessionId);
              const last = session?.messages.at(-1)?.sequence;
              if (session && last) {
                await store.commitExtraction(scope, sessionId, session.extractedThroughSequence, last);
              }
              if (await engrams[i]!.compact(scope, sessionId)) compactions++;
            },
          ),
      );
      const writers = 12;
      const perWriter = 10;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let j = 0; j < perWriter; j++) {
            const replica = engrams[(w + j) % engrams.length]!;
            await replica.append(scope, "hot", [{ role: "user", content: `w${w}-m${j}`, metadata: {} }]);
          }
        }),
      );
      // Let the last compactions settle, then audit.
      const snapshot = await engrams[0]!.get(scope, "hot", 0);
      const folded = (snapshot.summary?.content ?? "").split("\n").filter((l) => l !== "");
      const verbatim = snapshot.messages.map((m) => m.content);
      const seen = [...folded, ...verbatim];

      expect(compactions).toBeGreaterThan(0);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBe(writers * perWriter);
      expect(Number(snapshot.summary?.summarizedMessageCount ?? 0)).toBe(folded.length);
      for (let w = 0; w < writers; w++) {
        const order = seen.filter((c) => c.startsWith(`w${w}-`)).map((c) => Number(c.split("-m")[1]));
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
      // The verbatim tail continues exactly after the summary.
      expect(snapshot.messages[0]?.sequence).toBe((snapshot.summary?.summarizedThroughSequence ?? 0) + 1);
    } finally {
      await replicas.close();
    }
  });
});
