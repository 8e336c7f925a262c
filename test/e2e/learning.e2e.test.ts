import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it, vi } from "vitest";
import { MemorySourceKind } from "../../src/gen/engram/v1/long_term_pb.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";
import { openClient } from "../support/clients.js";
import { longConversation, metricTotal, scrape } from "../support/learning-fixtures.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Learning from whole conversations, on the embedded default and on Redis +
 * Weaviate: what a user says in the first turn of a long session is learnt
 * before compaction folds it away, and sessions nobody ends are learnt from
 * once idle. Every message is learnt from exactly once
 * (engram_learning_messages_total counts them).
 *
 * Default configuration but for a small token limit (so 40 turns compact
 * several times) and a short idle time (so the test need not wait 30 min).
 */
const backends = serverBackends();
const learning = {
  ENGRAM_SESSION_TOKEN_LIMIT: "300",
  ENGRAM_COMPACTION_KEEP_RECENT: "4",
  ENGRAM_SUMMARY_MAX_TOKENS: "100",
  ENGRAM_LEARNING_IDLE_SECONDS: "2",
};
const eventually = { timeout: 45_000, interval: 200 };

describe.each(backends)("learning from conversations on %s", (_, backendEnv) => {
  const engram = startEngramOnBackend(backendEnv, learning);
  const { client } = engram;
  const newScope = () => ({ namespace: "learning", userId: randomUUID() });
  const contents = async (scope: { namespace: string; userId: string }, query: string) =>
    (await client.recall({ scope, query, topK: 20 })).memories.map((m) => m.memory!.content);

  it("learns a first-turn preference before compaction folds it, and from every message exactly once", async () => {
    const scope = newScope();
    const before = metricTotal(await scrape(engram.server), "engram_learning_messages_total");
    let appended = 0;
    for (const turn of longConversation()) {
      await client.appendMessages({ scope, sessionId: "trip", messages: turn });
      appended += turn.length;
    }
    // The first turn is folded into the summary, and was learnt from before it was deleted.
    await vi.waitFor(async () => {
      const session = await client.getMessages({ scope, sessionId: "trip" });
      expect(session.summary?.summarizedThroughSequence).toBeGreaterThan(40n);
    }, eventually);
    await vi.waitFor(async () => {
      expect(await contents(scope, "seat preference")).toContain("I prefer aisle seats on long flights");
    }, eventually);
    const session = await client.getMessages({ scope, sessionId: "trip" });
    expect(session.messages.map((m) => m.content)).not.toContain("I prefer aisle seats on long flights");

    await client.endSession({ scope, sessionId: "trip" });
    const recalled = (await client.recall({ scope, query: "seat preference", topK: 20 })).memories;
    const aisle = recalled.filter((m) => m.memory?.content === "I prefer aisle seats on long flights");
    expect(aisle).toHaveLength(1);
    expect(aisle[0]?.memory?.source).toMatchObject({ kind: MemorySourceKind.SESSION, sessionId: "trip" });
    expect(await contents(scope, "where does the user live")).toContain("I live in Lisbon, near the river");
    // Questions and unconfirmed answers are not facts.
    expect((await contents(scope, "museum opening hours")).filter((c) => c.includes("museum"))).toEqual([]);
    const after = metricTotal(await scrape(engram.server), "engram_learning_messages_total");
    expect(after - before).toBe(appended);
  });

  it("learns from a session that is never ended once it goes idle", async () => {
    const scope = newScope();
    for (const turn of longConversation()) await client.appendMessages({ scope, sessionId: "left", messages: turn });
    await vi.waitFor(async () => {
      const known = await contents(scope, "where does the user live and which seats");
      expect(known).toContain("I prefer aisle seats on long flights");
      expect(known).toContain("I live in Lisbon, near the river"); // the last turn: never compacted, learnt as idle
    }, eventually);
    // The session itself is still there until its TTL: learning does not end it.
    expect((await client.getMessages({ scope, sessionId: "left" })).messages.length).toBeGreaterThan(0);
  });

  it("reports the learning queue's depth, lag and learnt messages in metrics", async () => {
    const body = await scrape(engram.server);
    expect(body).toMatch(/^engram_learning_queue_depth \d+/m);
    expect(body).toMatch(/^engram_learning_lag_seconds_count\{trigger="compaction"\} [1-9]/m);
    expect(body).toMatch(/^engram_learning_messages_total\{trigger="end"\} [1-9]/m);
  });
});

describe("two replicas appending to one session (Redis + Weaviate)", () => {
  const replicas: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.destroy()));
  });

  it("learn from every message exactly once between them", async () => {
    const shared = backends[1]![1]();
    replicas.push(
      ...(await Promise.all([
        startTestServer({ ...shared, ...learning }),
        startTestServer({ ...shared, ...learning }),
      ])),
    );
    const clients = replicas.map((r) => openClient("grpc", r.baseUrl).client);
    const learnt = async () =>
      (await Promise.all(replicas.map(scrape))).reduce(
        (sum, body) => sum + metricTotal(body, "engram_learning_messages_total"),
        0,
      );
    const before = await learnt();
    const scope = { namespace: "learning", userId: randomUUID() };
    const turns = longConversation();
    // Two writers, one per replica, interleaving their turns into one session.
    let appended = 0;
    await Promise.all(
      clients.map(async (client, w) => {
        for (let i = w; i < turns.length; i += 2) {
          await client.appendMessages({ scope, sessionId: "shared", messages: turns[i]! });
          appended += turns[i]!.length;
        }
      }),
    );
    await vi.waitFor(async () => {
      const session = await clients[0]!.getMessages({ scope, sessionId: "shared" });
      expect(session.summary?.summarizedThroughSequence).toBeGreaterThan(20n);
    }, eventually);
    await clients[1]!.endSession({ scope, sessionId: "shared" });
    expect((await learnt()) - before).toBe(appended);
    const recalled = (await clients[0]!.recall({ scope, query: "seat preference", topK: 20 })).memories;
    expect(recalled.filter((m) => m.memory?.content === "I prefer aisle seats on long flights")).toHaveLength(1);
  });
});
