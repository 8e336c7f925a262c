import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryType, RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";

/**
 * Knowledge that changes, on the default configuration (no model, the
 * local-onnx embedder) and on Redis + Weaviate: facts and preferences told
 * as a user would tell them, changed in a later session, and the current
 * one answered; paraphrases merged, and the near-misses that must not be.
 */
const backends = serverBackends();

describe.each(backends)("knowledge updates on %s", (_, backendEnv) => {
  const { client } = startEngramOnBackend(backendEnv);
  const newScope = () => ({ namespace: "knowledge", userId: randomUUID() });

  /** One session of user messages, ended: its decisions. */
  const session = async (scope: { namespace: string; userId: string }, ...lines: string[]) => {
    const sessionId = randomUUID();
    await client.appendMessages({
      scope,
      sessionId,
      messages: lines.map((content) => ({ role: Role.USER, content })),
    });
    return (await client.endSession({ scope, sessionId })).decisions;
  };
  const current = async (scope: { namespace: string; userId: string }, query: string) =>
    (await client.recall({ scope, query })).memories.map((m) => m.memory!.content);

  it.each([
    ["I live in Madrid.", "We relocated to Valencia in March.", "Where does the user live?"],
    ["I'm based in Leeds these days.", "I've moved to Manchester.", "Which city is the user based in?"],
    ["Standup is at 9:30.", "Standup moved to 10:00 from next week.", "When is standup?"],
    ["I adore cilantro.", "Cilantro tastes like soap to me now, leave it out.", "Should I add cilantro?"],
    ["I'm vegetarian.", "I'm not vegetarian anymore, I eat everything.", "What does the user eat?"],
    ["I work at Acme as a designer.", "I'm now at Globex.", "Where does the user work?"],
    ["I drink coffee every morning before work.", "I no longer drink coffee.", "Does the user drink coffee?"],
  ])("%s -> %s: the change supersedes the old memory, kept as history", async (before, after, question) => {
    const scope = newScope();
    const [first] = await session(scope, before);
    expect(first).toMatchObject({ stored: true });
    const [second] = await session(scope, after);
    // The decision explains the settlement: which memory the change replaced.
    expect(second).toMatchObject({
      stored: true,
      outcome: RememberOutcome.SUPERSEDED_OLDER,
      supersededIds: [first!.memoryId],
    });
    const answers = await current(scope, question);
    expect(answers[0]).toBe(after);
    expect(answers).not.toContain(before);
    const old = await client.getMemory({ scope, memoryId: first!.memoryId });
    expect(old.memory).toMatchObject({ content: before, supersededBy: second!.memoryId });
    expect(old.memory?.validUntil).toBeDefined();
  });

  it("keeps short statements about the user's world as facts and preferences", async () => {
    const scope = newScope();
    const decisions = await session(scope, "I adore cilantro.", "Standup is at 9:30.", "I'm vegan", "ok thanks!");
    expect(decisions.map((d) => [d.stored, d.type])).toEqual([
      [true, MemoryType.PREFERENCE],
      [true, MemoryType.SEMANTIC],
      [true, MemoryType.PREFERENCE],
      [false, MemoryType.SEMANTIC],
    ]);
  });

  it("applies a self-correction to what it corrects, in one session or through Remember", async () => {
    const scope = newScope();
    const [code, correction] = await session(scope, "My locker code is 4417.", "Actually it's 4418.");
    expect(correction).toMatchObject({ outcome: RememberOutcome.SUPERSEDED_OLDER, supersededIds: [code!.memoryId] });
    expect((await client.getMemory({ scope, memoryId: correction!.memoryId })).memory?.content).toBe(
      "My locker code is 4418.",
    );
    const remembered = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "My sister lives in Porto.",
    });
    const meant = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "Sorry, I meant Lisbon, not Porto.",
    });
    expect(meant).toMatchObject({ outcome: RememberOutcome.SUPERSEDED_OLDER, supersededIds: [remembered.memory!.id] });
    expect(meant.memory?.content).toBe("My sister lives in Lisbon.");
  });

  it.each([
    ["This service is written in async Rust", "This service runs on async Rust throughout"],
    ["I work on the front end", "I work on the frontend"],
    ["My dentist appointment is on Monday", "I have a dentist appointment Monday"],
  ])("merges the paraphrase %s / %s into one memory", async (a, b) => {
    const scope = newScope();
    const first = await client.remember({ scope, type: MemoryType.SEMANTIC, content: a, importance: 0.5 });
    const second = await client.remember({ scope, type: MemoryType.SEMANTIC, content: b, importance: 0.7 });
    expect(second.outcome).toBe(RememberOutcome.MERGED);
    expect(second.memory).toMatchObject({ id: first.memory!.id });
    expect(second.memory?.importance).toBeCloseTo(0.7);
    const listed = await client.listMemories({ scope });
    expect(listed.memories).toHaveLength(1);
  });

  it.each([
    ["My locker code is 4417", "My locker code is 4418"],
    ["Meeting with Bob on Tuesday", "Meeting with Bob on Friday"],
    ["I like cilantro", "I don't like cilantro"],
    ["My sister lives in Lisbon", "My brother lives in Lisbon"],
  ])("must not merge %s / %s", async (a, b) => {
    const scope = newScope();
    await client.remember({ scope, type: MemoryType.SEMANTIC, content: a });
    const second = await client.remember({ scope, type: MemoryType.SEMANTIC, content: b });
    expect(second.outcome).toBe(RememberOutcome.CREATED);
    expect((await client.listMemories({ scope })).memories.map((m) => m.content).sort()).toEqual([a, b].sort());
  });

  it("must not supersede: a stop of something else, another speaker's move, an unrelated change", async () => {
    const scope = newScope();
    const [vim] = await session(scope, "I use Vim for everything.");
    const [emacs] = await session(scope, "I stopped using Emacs.");
    expect(emacs).toMatchObject({ stored: true, supersededIds: [] });
    const [coffee] = await session(scope, "I no longer drink coffee.");
    expect(coffee).toMatchObject({ stored: true, supersededIds: [] });
    const sessionId = randomUUID();
    await client.appendMessages({
      scope,
      sessionId,
      messages: [
        { role: Role.USER, name: "Maya", content: "I just moved to Porto for a new job at the harbour." },
        { role: Role.USER, name: "Tomas", content: "I just moved to Denver for a new job at the hospital." },
      ],
    });
    const moves = (await client.endSession({ scope, sessionId })).decisions;
    expect(moves.map((d) => d.supersededIds)).toEqual([[], []]);
    expect((await client.getMemory({ scope, memoryId: vim!.memoryId })).memory?.supersededBy).toBe("");
  });
});
