import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType, RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";
import { startFakeModelServer, type FakeModelServer } from "../support/openai-compatible-server.js";
import { openClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Recall's ranking stages (domain/recall-ranking.ts) through the gRPC API
 * on the default configuration, embedded and on Redis + Weaviate: the
 * stores only find candidates, so both must rank alike.
 */
const backends = serverBackends();
const day = 86_400_000;

describe.each(backends)("recall ranking on %s", (_, backendEnv) => {
  const { client } = startEngramOnBackend(backendEnv);
  const newScope = () => ({ namespace: "ranking", userId: randomUUID() });

  it("finds the reply that answers, though it shares no word with the question, right after the turn that asked", async () => {
    const scope = newScope();
    const at = (minute: number) => timestampFromDate(new Date(Date.UTC(2023, 4, 8, 13, minute)));
    await client.appendMessages({
      scope,
      sessionId: "art-fair",
      messages: [
        {
          role: Role.USER,
          name: "Melanie",
          content:
            "I saw the photos from the art fair, the paintings looked lovely. Which one did you paint, Caroline?",
          occurredAt: at(0),
        },
        {
          role: Role.USER,
          name: "Caroline",
          content: "The lake at sunrise, with my little boy fishing off the old jetty.",
          occurredAt: at(1),
        },
        {
          role: Role.USER,
          name: "Melanie",
          content: "I painted the kitchen walls blue with my husband on Sunday, it took all day.",
          occurredAt: at(2),
        },
      ],
    });
    const ended = await client.endSession({ scope, sessionId: "art-fair" });
    // The first message states something before it asks: the gate keeps it.
    expect(ended.decisions.map((d) => d.stored)).toEqual([true, true, true]);
    const recalled = await client.recall({ scope, query: "What did Caroline paint for the art fair?", topK: 2 });
    expect(recalled.memories.map((m) => m.memory?.speaker)).toEqual(["Melanie", "Caroline"]);
    expect(recalled.memories[1]?.memory?.content).toBe(
      "The lake at sunrise, with my little boy fishing off the old jetty.",
    );
  });

  it("does not lift a remembered line retold right after a matching turn: it stands for every telling", async () => {
    const scope = newScope();
    const at = (minute: number) => timestampFromDate(new Date(Date.UTC(2023, 4, 8, 12, minute)));
    const remember = (content: string, minute: number) =>
      client.remember({ scope, type: MemoryType.EPISODIC, content, occurredAt: at(minute) });
    const chatter = "Sage: Would you like me to make a note of that?";
    await remember(chatter, 0);
    await remember("Caroline: I painted the lake at sunrise for the art fair.", 30);
    await remember("Melanie: My sister moved to Lisbon last spring.", 45);
    const query = "What did Caroline paint for the art fair?";
    const relevanceOfChatter = async () =>
      (await client.recall({ scope, query, topK: 10, skipAccessTracking: true })).memories.find(
        (m) => m.memory?.content === chatter,
      )?.relevance;
    const before = await relevanceOfChatter();
    expect(before).toBeDefined();
    // Told again right after the matching turn: the retelling merges into it and moves its occurrence there.
    expect((await remember(chatter, 31)).outcome).toBe(RememberOutcome.MERGED);
    expect(await relevanceOfChatter()).toBeCloseTo(before!, 6);
  });

  it("ranks an old event by relevance when the question is not about recency, and the newest when it is", async () => {
    const scope = newScope();
    const remember = (content: string, daysAgo: number) =>
      client.remember({
        scope,
        type: MemoryType.EPISODIC,
        content,
        occurredAt: timestampFromDate(new Date(Date.now() - daysAgo * day)),
      });
    await remember("I ran the Lisbon half marathon with my running club and finished in under two hours.", 400);
    await remember("I ran a short training loop with my running club by the river.", 2);
    const when = await client.recall({ scope, query: "When did I run the Lisbon half marathon?", topK: 1 });
    expect(when.memories[0]?.memory?.content).toMatch(/Lisbon half marathon/);
    const latest = await client.recall({ scope, query: "What did I run with my running club most recently?", topK: 1 });
    expect(latest.memories[0]?.memory?.content).toMatch(/training loop/);
  });

  it("prefers what was said in the period a question names, though no word of the date was said", async () => {
    const scope = newScope();
    const remember = (content: string, occurredAt: string) =>
      client.remember({
        scope,
        type: MemoryType.EPISODIC,
        content,
        occurredAt: timestampFromDate(new Date(occurredAt)),
      });
    // Two answers to the question, said months apart (and different enough not to merge).
    const march = "I painted the lake at sunset in watercolours.";
    // Told a few days into August about July: within the week a report may lag.
    const july = "Finally painted our old barn in oils, red against the hills.";
    await remember(march, "2023-03-10T12:00:00Z");
    await remember(july, "2023-08-03T12:00:00Z");
    await remember("Painting the fence took the whole weekend, with a break for lunch.", "2023-05-02T12:00:00Z");
    await remember("We adopted a grey cat from the shelter.", "2023-07-20T12:00:00Z");
    const first = async (query: string) =>
      (await client.recall({ scope, query, topK: 1, skipAccessTracking: true })).memories[0]?.memory?.content;
    expect(await first("What did I paint in March 2023?")).toBe(march);
    expect(await first("What did I paint in July 2023?")).toBe(july);
    expect(await first("What did I paint on 3 August, 2023?")).toBe(july);
    expect(await first("What did I paint on 10 March, 2023?")).toBe(march);
  });
});

describe("recall with a rerank stage (ENGRAM_RERANK_URL), embedded default", () => {
  let models: FakeModelServer;
  let plain: TestServer;
  let reranked: TestServer;
  beforeAll(async () => {
    models = await startFakeModelServer();
    plain = await startTestServer();
    reranked = await startTestServer({
      ENGRAM_RERANK_URL: models.baseUrl,
      ENGRAM_RERANK_MODEL: "reverse",
      ENGRAM_RERANK_DEPTH: "3",
    });
  });
  afterAll(async () => {
    await plain?.destroy();
    await reranked?.destroy();
    await models?.stop();
  });

  const contents = async (server: TestServer, scope: { namespace: string; userId: string }) => {
    const { client } = openClient("grpc", server.baseUrl);
    for (const content of [
      "I grow tomatoes and basil in the garden behind the house.",
      "My garden has a small pond with goldfish.",
      "I repainted the garden shed green last spring.",
      "The garden party is on Saturday afternoon.",
    ]) {
      await client.remember({ scope, type: MemoryType.SEMANTIC, content });
    }
    const reply = await client.recall({ scope, query: "What grows in my garden?", topK: 4 });
    return reply.memories.map((m) => m.memory?.content ?? "");
  };

  it("reorders the best results by the reranker's scores and leaves the rest in place", async () => {
    const scope = { namespace: "rerank", userId: randomUUID() };
    const ranked = await contents(plain, scope);
    const withRerank = await contents(reranked, scope);
    expect(ranked).toHaveLength(4);
    expect(withRerank).toEqual([...ranked.slice(0, 3).reverse(), ranked[3]]);
    const asked = models.requests.filter((r) => r.path === "/v1/rerank");
    expect(asked.at(-1)?.body).toMatchObject({ model: "reverse", query: "What grows in my garden?" });
  });

  it("answers in the ranking's own order when the reranker fails", async () => {
    const scope = { namespace: "rerank", userId: randomUUID() };
    const ranked = await contents(plain, scope);
    const asked = models.requests.length;
    models.failNext(1, 503);
    expect(await contents(reranked, scope)).toEqual(ranked);
    expect(models.requests.slice(asked).map((r) => r.path)).toEqual(["/v1/rerank"]);
  });
});
