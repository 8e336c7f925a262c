import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { SectionKind } from "../../src/gen/engram/v1/assembly_pb.js";
import { GateDecider, MemorySourceKind, MemoryType, RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import { RememberRequestSchema } from "../../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { collect, expectStatus } from "../support/expect-status.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";

/**
 * The memory policy as multi-session stories through the gRPC API, on the
 * embedded default and on Redis + Weaviate: the same behaviour on both.
 */
const backends = serverBackends();

const day = 86_400_000;

/** The README's first Remember call, parsed from the README itself so the test follows the text. */
function readmeRemember() {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const call = /grpcurl -plaintext -d '([^']+)'\s*\\\s*\S+ engram\.v1\.MemoryService\/Remember/.exec(readme);
  if (!call) throw new Error("README.md has no grpcurl Remember call");
  return fromJson(RememberRequestSchema, JSON.parse(call[1]!) as JsonValue);
}
const ago = (days: number) => timestampFromDate(new Date(Date.now() - days * day));

describe.each(backends)("memory policy on %s", (_, backendEnv) => {
  const { client } = startEngramOnBackend(backendEnv);
  const newScope = () => ({ namespace: "policy", userId: randomUUID() });
  const say = (scope: { namespace: string; userId: string }, sessionId: string, ...lines: string[]) =>
    client.appendMessages({ scope, sessionId, messages: lines.map((content) => ({ role: Role.USER, content })) });

  it("learns what a user tells in passing, at low importance, and finds it when asked in other words", async () => {
    const scope = newScope();
    await say(
      scope,
      "passing",
      "Quick update on Maya: the job fell through and she ended up relocating to Porto instead.",
      "The weather has been so grey lately.",
      "Go for it!",
    );
    const ended = await client.endSession({ scope, sessionId: "passing" });
    expect(ended.decisions.map((d) => [d.stored, d.reason, d.decider])).toEqual([
      [true, "incidental-statement", GateDecider.RULES],
      [false, "impersonal", GateDecider.RULES],
      [false, "too-short", GateDecider.RULES],
    ]);
    expect(ended.decisions[0]!.importance).toBeCloseTo(0.3);
    const recalled = await client.recall({ scope, query: "Which city is Maya living in these days?" });
    expect(recalled.memories.map((m) => m.memory?.content)).toEqual([
      "Quick update on Maya: the job fell through and she ended up relocating to Porto instead.",
    ]);
  });

  it("keeps who said what: speaker names on messages, on the memories learnt from them, searchable and filterable", async () => {
    const scope = newScope();
    await client.appendMessages({
      scope,
      sessionId: "two-people",
      messages: [
        { role: Role.USER, name: "Maya", content: "I just moved to Porto for a new job at the harbour." },
        { role: Role.USER, name: "Tomas", content: "I just moved to Denver for a new job at the hospital." },
      ],
    });
    const read = await client.getMessages({ scope, sessionId: "two-people" });
    expect(read.messages.map((m) => m.name)).toEqual(["Maya", "Tomas"]);
    const ended = await client.endSession({ scope, sessionId: "two-people" });
    expect(ended.decisions.every((d) => d.stored)).toBe(true);
    const tomas = await client.recall({ scope, query: "Where did Tomas move?", topK: 1 });
    expect(tomas.memories.map((m) => [m.memory?.speaker, m.memory?.content])).toEqual([
      ["Tomas", "I just moved to Denver for a new job at the hospital."],
    ]);
    const onlyMaya = await client.recall({ scope, query: "moved for a new job", speakers: ["Maya"] });
    expect(onlyMaya.memories.map((m) => m.memory?.speaker)).toEqual(["Maya"]);
    await expectStatus(
      client.appendMessages({
        scope,
        sessionId: "two-people-2",
        messages: [{ role: Role.USER, name: "Maya\u0007", content: "hello there everyone" }],
      }),
      Code.InvalidArgument,
      /messages\[0\]\.name/,
    );
    await expectStatus(client.recall({ scope, query: "job", speakers: [""] }), Code.InvalidArgument, /speakers\[0\]/);
  });

  it("lets a newer preference supersede an older one: a script request gets Go, not Python", async () => {
    const scope = newScope();
    const python = await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "I prefer Python for scripting tasks",
      importance: 0.7,
      occurredAt: ago(240),
    });
    expect(python.outcome).toBe(RememberOutcome.CREATED);
    const go = await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "I've switched everything to Go",
      importance: 0.8,
      occurredAt: ago(7),
    });
    expect(go.outcome).toBe(RememberOutcome.SUPERSEDED_OLDER);
    expect(go.supersededIds).toEqual([python.memory!.id]);
    // The reply explains it: the subject both were found to be about.
    expect([python.memory?.subject, go.memory?.subject]).toEqual(["programming-language", "programming-language"]);

    const recalled = await client.recall({
      scope,
      query: "Write me a script to rename my photos",
      types: [MemoryType.PREFERENCE],
    });
    expect(recalled.memories.map((m) => m.memory?.content)).toEqual(["I've switched everything to Go"]);

    const history = await client.recall({
      scope,
      query: "Write me a script to rename my photos",
      includeSuperseded: true,
    });
    const old = history.memories.find((m) => m.memory?.id === python.memory!.id)?.memory;
    expect(old?.supersededBy).toBe(go.memory!.id);
    expect(old?.validUntil).toBeDefined();

    const context = await collect(
      client.assembleContext({ scope, query: "Write me a script to rename my photos", tokenBudget: 500 }),
    );
    const memories = context.find(
      (e) => e.event.case === "section" && e.event.value.kind === SectionKind.LONG_TERM_MEMORIES,
    );
    const items = memories?.event.case === "section" ? memories.event.value.items.map((i) => i.content) : [];
    expect(items).toEqual(["[preference] I've switched everything to Go"]);
  });

  it("learns a preference at the end of one session, changes it in the next and twice within a third, and answers with the newest", async () => {
    const scope = newScope();
    await say(scope, "monday", "Hi!", "I prefer window seats on long flights", "thanks");
    const monday = await client.endSession({ scope, sessionId: "monday" });
    expect(monday.decisions.map((d) => [d.stored, d.reason])).toEqual([
      [false, "pleasantry"],
      [true, "explicit-preference"],
      [false, "pleasantry"],
    ]);
    await say(scope, "friday", "From now on I want aisle seats, I get up a lot");
    const friday = await client.endSession({ scope, sessionId: "friday" });
    // The decision explains the settlement: which memory the new preference replaced.
    expect(friday.decisions[0]).toMatchObject({
      stored: true,
      outcome: RememberOutcome.SUPERSEDED_OLDER,
      supersededIds: [monday.decisions[1]!.memoryId],
    });
    const seatPreferences = async () =>
      (
        await client.recall({ scope, query: "which seat should I book on the flight", types: [MemoryType.PREFERENCE] })
      ).memories.map((m) => m.memory?.content);
    expect(await seatPreferences()).toEqual(["From now on I want aisle seats, I get up a lot"]);

    // Changed twice within one session: each later statement supersedes the one before, and says so.
    await say(
      scope,
      "sunday",
      "I prefer window seats again, the aisle is too busy",
      "No, I prefer aisle seats after all",
    );
    const sunday = await client.endSession({ scope, sessionId: "sunday" });
    const [again, final] = sunday.decisions;
    expect(again).toMatchObject({
      stored: true,
      outcome: RememberOutcome.SUPERSEDED_OLDER,
      supersededIds: [friday.decisions[0]!.memoryId],
    });
    expect(final).toMatchObject({
      stored: true,
      outcome: RememberOutcome.SUPERSEDED_OLDER,
      supersededIds: [again!.memoryId],
    });
    expect(await seatPreferences()).toEqual(["No, I prefer aisle seats after all"]);
  });

  it("redacts personal data before storing and never returns it from Recall", async () => {
    const scope = newScope();
    await say(
      scope,
      "s",
      "My email is ana.silva@example.com and I prefer replies in Portuguese",
      "my card is 4111 1111 1111 1111 and I love jazz",
    );
    const ended = await client.endSession({ scope, sessionId: "s" });
    expect(ended.decisions.every((d) => d.stored)).toBe(true);
    const recalled = await client.recall({ scope, query: "email card replies Portuguese jazz", topK: 10 });
    const text = recalled.memories.map((m) => m.memory?.content).join("\n");
    expect(text).toContain("[redacted:email]");
    expect(text).toContain("[redacted:payment-card]");
    expect(text).not.toContain("ana.silva@example.com");
    expect(text).not.toContain("4111");

    const explicit = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "API key is sk-proj-abcdefghijklmnopqrstuv",
    });
    expect(explicit.redactions).toEqual(["api-key"]);
    expect(explicit.memory?.content).not.toContain("sk-proj");

    // The subject and metadata values are written too: they are redacted like the content.
    const labelled = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "Prefers to be contacted by email",
      subject: "contact ana.silva@example.com",
      metadata: { note: "card 4111 1111 1111 1111" },
    });
    expect(labelled.redactions).toEqual(["email", "payment-card"]);
    expect(labelled.memory?.subject).toBe("contact [redacted:email]");
    expect(labelled.memory?.metadata).toEqual({ note: "card [redacted:payment-card]" });
  });

  it("does not store procedural chatter, pleasantries or unconfirmed answers", async () => {
    const scope = newScope();
    await client.appendMessages({
      scope,
      sessionId: "setup",
      messages: [
        { role: Role.USER, content: "Step 3 of 7: run the installer" },
        { role: Role.ASSISTANT, content: "The installer is at /opt/setup and takes ten minutes to finish." },
        { role: Role.USER, content: "ok" },
        { role: Role.USER, content: "Next" },
      ],
    });
    const ended = await client.endSession({ scope, sessionId: "setup" });
    expect(ended.decisions.map((d) => [d.stored, d.reason])).toEqual([
      [false, "procedural"],
      [false, "unconfirmed"],
      [false, "pleasantry"],
      [false, "procedural"],
    ]);
    expect((await client.recall({ scope, query: "installer step setup" })).memories).toEqual([]);
    // Asked to, the gate judges an explicit write like a message: a pleasantry is dropped.
    const chatter = await client.remember({
      scope,
      type: MemoryType.EPISODIC,
      content: "thanks, sounds good",
      applyGate: true,
    });
    expect(chatter.outcome).toBe(RememberOutcome.DROPPED);
    expect(chatter.decision).toMatchObject({ stored: false, reason: "pleasantry", decider: GateDecider.RULES });
    expect(chatter.memory).toBeUndefined();
  });

  it("stores the README's first Remember exactly as written, and recalls it", async () => {
    const request = readmeRemember();
    // The README's payload, for a user of its own so other tests cannot interfere.
    request.scope = { ...request.scope!, userId: `ana-${randomUUID()}` };
    const remembered = await client.remember(request);
    expect(remembered.outcome).toBe(RememberOutcome.CREATED);
    expect(remembered.decision).toMatchObject({ stored: true, decider: GateDecider.CALLER });
    expect(remembered.memory).toMatchObject({
      type: MemoryType.PREFERENCE,
      content: "Prefers aisle seats",
      source: { kind: MemorySourceKind.REMEMBER, caller: "anonymous" },
    });
    const recalled = await client.recall({ scope: request.scope, query: "seat preference" });
    expect(recalled.memories[0]?.memory?.content).toBe("Prefers aisle seats");
    // Third-person facts and plain statements, the form applications write, are kept too.
    for (const content of [
      "The user works at Acme as a data engineer",
      "This codebase uses async patterns throughout",
    ]) {
      const fact = await client.remember({ scope: request.scope, type: MemoryType.SEMANTIC, content });
      expect(fact.outcome).toBe(RememberOutcome.CREATED);
    }
  });

  it("records where a learnt memory came from and when it was said", async () => {
    const scope = newScope();
    const said = new Date("2025-06-01T09:30:00Z");
    const appended = await client.appendMessages({
      scope,
      sessionId: "imported",
      messages: [{ role: Role.USER, content: "I prefer window seats on trains", occurredAt: timestampFromDate(said) }],
    });
    const [message] = (await client.getMessages({ scope, sessionId: "imported" })).messages;
    expect(message?.occurredAt && timestampDate(message.occurredAt).toISOString()).toBe(said.toISOString());
    await client.endSession({ scope, sessionId: "imported" });
    const [learnt] = (await client.recall({ scope, query: "train seats" })).memories;
    expect(learnt?.memory?.source).toMatchObject({
      kind: MemorySourceKind.SESSION,
      sessionId: "imported",
      messageIds: [appended.messageIds[0]],
    });
    expect(learnt?.memory?.occurredAt && timestampDate(learnt.memory.occurredAt).toISOString()).toBe(
      said.toISOString(),
    );
    await expectStatus(
      client.appendMessages({
        scope,
        sessionId: "imported",
        messages: [{ role: Role.USER, content: "hi", occurredAt: timestampFromDate(new Date(Date.now() + day)) }],
      }),
      Code.InvalidArgument,
      /messages\[0\]\.occurred_at: must not be in the future/,
    );
  });

  it("rejects apply_gate together with the deprecated bypass_gate", async () => {
    await expectStatus(
      client.remember({
        scope: newScope(),
        type: MemoryType.SEMANTIC,
        content: "x",
        applyGate: true,
        bypassGate: true,
      }),
      Code.InvalidArgument,
      /apply_gate/,
    );
  });

  it("merges a repeated memory instead of adding a copy, and updates a fact in place", async () => {
    const scope = newScope();
    const first = await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "I love jazz records",
      importance: 0.4,
    });
    const again = await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "I love jazz records!",
      importance: 0.6,
    });
    expect(again.outcome).toBe(RememberOutcome.MERGED);
    expect(again.memory?.id).toBe(first.memory?.id);
    expect(again.memory?.importance).toBeCloseTo(0.6);

    const job = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "I work at Acme as an engineer",
      subject: "employer",
    });
    const moved = await client.remember({
      scope,
      type: MemoryType.SEMANTIC,
      content: "I work at Initech now",
      subject: "employer",
    });
    expect(moved.outcome).toBe(RememberOutcome.UPDATED);
    expect(moved.memory?.id).toBe(job.memory?.id);
    expect((await client.getMemory({ scope, memoryId: job.memory!.id })).memory?.content).toBe("I work at Initech now");
  });

  it("settles concurrent writes of one fact into one memory: no duplicate, no second current version", async () => {
    const scope = newScope();
    const writers = 8;
    const repeated = await Promise.all(
      Array.from({ length: writers }, () =>
        client.remember({ scope, type: MemoryType.PREFERENCE, content: "I love jazz records", importance: 0.5 }),
      ),
    );
    expect(new Set(repeated.map((r) => r.memory!.id)).size).toBe(1);
    expect(repeated.filter((r) => r.outcome === RememberOutcome.CREATED)).toHaveLength(1);

    const moves = await Promise.all(
      ["Acme", "Initech", "Globex", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka"].map((employer) =>
        client.remember({ scope, type: MemoryType.SEMANTIC, content: `I work at ${employer}`, subject: "employer" }),
      ),
    );
    expect(new Set(moves.map((m) => m.memory!.id)).size).toBe(1);
    const facts = await client.recall({
      scope,
      query: "where do I work",
      types: [MemoryType.SEMANTIC],
      topK: 20,
      includeSuperseded: true,
    });
    expect(facts.memories.filter((m) => m.memory?.subject === "employer")).toHaveLength(1);
  });
  it("forgets a completed task's working state", async () => {
    const scope = newScope();
    await client.setWorking({ scope, taskId: "trip", entries: { plan: "book flights, then hotel" } });
    await client.completeTask({ scope, taskId: "trip" });
    await expectStatus(client.getWorking({ scope, taskId: "trip" }), Code.NotFound);
    const context = await collect(client.assembleContext({ scope, taskId: "trip", query: "trip", tokenBudget: 200 }));
    expect(context.some((e) => e.event.case === "section" && e.event.value.kind === SectionKind.TASK_STATE)).toBe(
      false,
    );
  });

  it("keeps a user within the memory budget, forgetting the lowest-scoring first", async () => {
    const scope = newScope();
    const remember = (content: string, importance: number) =>
      client.remember({ scope, type: MemoryType.SEMANTIC, content, importance });
    const best = await remember("Is allergic to penicillin", 0.95);
    const middle = await remember("Owns a red bicycle", 0.5);
    const worst = await remember("Once mentioned liking rain", 0.1);
    const report = await client.evictStale({
      namespace: scope.namespace,
      userId: scope.userId,
      policy: { scoreThreshold: 0.0001, minAgeHours: 0, maxMemoriesPerUser: 1 },
    });
    expect(report.evicted).toBe(2n);
    await client.getMemory({ scope, memoryId: best.memory!.id });
    await expectStatus(client.getMemory({ scope, memoryId: middle.memory!.id }), Code.NotFound);
    await expectStatus(client.getMemory({ scope, memoryId: worst.memory!.id }), Code.NotFound);
  });

  it("keeps important and recently used memories when forgetting, and drops stale unimportant ones", async () => {
    const scope = newScope();
    const remember = (content: string, importance: number, extra: object = {}) =>
      client.remember({ scope, type: MemoryType.EPISODIC, content, importance, ...extra });
    const stale = await remember("Asked about the weather in Oslo", 0.1);
    const important = await remember("Was diagnosed with diabetes", 0.95);
    const used = await remember("Ordered the blue running shoes", 0.4);
    await client.recall({ scope, query: "blue running shoes order" });
    // Access counts are written off the request path; wait for the flush rather than guess its timing.
    await vi.waitFor(
      async () => expect((await client.getMemory({ scope, memoryId: used.memory!.id })).memory?.accessCount).toBe(1n),
      { timeout: 10_000, interval: 50 },
    );
    // Evaluate as if idle for a long time: a half-life of one hour makes a day look like forever.
    const report = await client.evictStale({
      namespace: scope.namespace,
      userId: scope.userId,
      policy: { scoreThreshold: 0.3, halfLifeHours: 1, minAgeHours: 0 },
    });
    expect(report.evicted).toBeGreaterThanOrEqual(1n);
    expect(report.evictedIds).not.toContain(important.memory!.id);
    await expectStatus(client.getMemory({ scope, memoryId: stale.memory!.id }), Code.NotFound);
    await client.getMemory({ scope, memoryId: important.memory!.id });
    const kept = await client.getMemory({ scope, memoryId: used.memory!.id });
    expect(kept.memory?.accessCount).toBe(1n);
  });
});
