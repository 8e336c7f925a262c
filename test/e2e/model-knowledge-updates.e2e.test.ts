import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";
import { startFakeModelServer, type FakeModelServer } from "../support/openai-compatible-server.js";

/**
 * With a model configured (our OpenAI-compatible test server), the model
 * judges in its extraction call which of the user's current memories a new
 * statement repeats or contradicts; settlement follows its judgement, with
 * the same outcomes and history as the local rules. The cases are ones the
 * rules alone would not settle ("The user lives in Valencia." shares no
 * subject or change word with "The user's home city is Madrid.").
 */
const backends = serverBackends();
let models: FakeModelServer;
beforeAll(async () => {
  models = await startFakeModelServer(64);
});
afterAll(async () => {
  await models?.stop();
});

describe.each(backends)("knowledge updates judged by a model on %s", (_, backendEnv) => {
  const { client } = startEngramOnBackend(backendEnv, () => ({
    ENGRAM_MODEL_PROVIDER: "openai",
    ENGRAM_OPENAI_BASE_URL: models.baseUrl,
    ENGRAM_OPENAI_TIMEOUT_MS: "5000",
    ENGRAM_OPENAI_MAX_RETRIES: "0",
  }));
  const newScope = () => ({ namespace: "model-knowledge", userId: randomUUID() });
  const session = async (scope: { namespace: string; userId: string }, ...lines: string[]) => {
    const sessionId = randomUUID();
    await client.appendMessages({ scope, sessionId, messages: lines.map((content) => ({ role: Role.USER, content })) });
    return (await client.endSession({ scope, sessionId })).decisions.filter((d) => d.stored);
  };

  it("supersedes what the model says a statement contradicts, keeping it as history", async () => {
    const scope = newScope();
    const [madrid] = await session(scope, "my home city is Madrid");
    const [valencia] = await session(scope, "We relocated to Valencia in March, finally.");
    expect(valencia).toMatchObject({ outcome: RememberOutcome.SUPERSEDED_OLDER, supersededIds: [madrid!.memoryId] });
    const old = await client.getMemory({ scope, memoryId: madrid!.memoryId });
    expect(old.memory).toMatchObject({ content: "The user's home city is Madrid.", supersededBy: valencia!.memoryId });
    expect(old.memory?.validUntil).toBeDefined();
    const recalled = await client.recall({ scope, query: "Where does the user live?" });
    expect(recalled.memories.map((m) => m.memory?.content)).toEqual(["The user lives in Valencia."]);
  });

  it("merges what the model says a statement repeats, and supersedes a changed value instead of updating it", async () => {
    const scope = newScope();
    const [first] = await session(scope, "my locker code is 4417");
    const [again] = await session(scope, "my locker code is 4417");
    expect(again).toMatchObject({ outcome: RememberOutcome.MERGED, memoryId: first!.memoryId });
    const [changed] = await session(scope, "my locker code is 4418");
    expect(changed).toMatchObject({ outcome: RememberOutcome.SUPERSEDED_OLDER, supersededIds: [first!.memoryId] });
  });

  it("must not: a statement the model relates to nothing stays beside the others", async () => {
    const scope = newScope();
    await session(scope, "my home city is Madrid");
    const [other] = await session(scope, "my favourite drink is tea");
    expect(other).toMatchObject({ outcome: RememberOutcome.CREATED, supersededIds: [] });
  });
});
