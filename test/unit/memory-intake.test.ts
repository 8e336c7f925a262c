import { describe, expect, it } from "vitest";
import { MemoryIntake } from "../../src/domain/memory-intake.js";
import type { GatedMemory, MemorySettlement, WriteResult } from "../../src/domain/memory-settlement.js";
import type { Scope } from "../../src/domain/types.js";
import { LocalStatementClassifier } from "../../src/domain/write-gate.js";
import { randomWords } from "../support/adversarial-texts.js";
import { countEventLoopTurns } from "../support/event-loop-turns.js";
import { memoryRecord } from "../support/memory-fixtures.js";

const scope: Scope = { namespace: "n", userId: "u" };
const now = new Date("2026-06-01T12:00:00Z");

/** Settlement that stores everything it is given as created: intake's decisions are what is under test. */
function recordingSettlement(): Pick<MemorySettlement, "writeMany"> & { written: GatedMemory[] } {
  const written: GatedMemory[] = [];
  return {
    written,
    async writeMany(_scope, inputs) {
      written.push(...inputs);
      return inputs.map((input): WriteResult => ({
        memory: memoryRecord(scope, input.content, { type: input.type }),
        outcome: "created",
        supersededIds: [],
      }));
    },
  };
}

const item = (content: string) => ({
  type: "semantic" as const,
  content,
  importance: undefined,
  metadata: {},
  subject: "",
  pinned: false,
  occurredAt: undefined,
  createdAt: undefined,
  lastAccessedAt: undefined,
  accessCount: 0,
});

describe("MemoryIntake", () => {
  const intake = (settlement = recordingSettlement()) => ({
    settlement,
    intake: new MemoryIntake(settlement, new LocalStatementClassifier(), { piiMode: "redact" }, {}, () => now),
  });

  it("gives each gated import item its own classifier answer, whatever the order", async () => {
    const impersonal = "The weather has been grey all week long.";
    const personal = "My sister finally visited the coast last weekend.";
    for (const order of [
      [impersonal, personal],
      [personal, impersonal],
    ]) {
      const { intake: subject, settlement } = intake();
      const outcomes = await subject.importMemories(scope, order.map(item), { applyGate: true, caller: "t" });
      expect(outcomes.map((o) => o.decision.reason)).toEqual(
        order.map((c) => (c === personal ? "incidental-statement" : "impersonal")),
      );
      expect(settlement.written.map((w) => w.content)).toEqual([personal]);
    }
  });

  it("keeps a session message's id on its decision, for provenance", async () => {
    const { intake: subject } = intake();
    const message = (id: string, content: string) => ({
      id,
      sequence: 1,
      role: "user" as const,
      content,
      metadata: {},
      tokenCount: 5,
      createdAt: now,
      occurredAt: now,
    });
    const decisions = await subject.extract(scope, "s", [
      message("m1", "The weather has been grey all week long."),
      message("m2", "My sister finally visited the coast last weekend."),
    ]);
    expect(decisions.map((d) => [d.messageId, d.stored])).toEqual([
      ["m1", false],
      ["m2", true],
    ]);
  });

  it("lets other callers run while the rules read a large session batch (they held the event loop for 0.3 s, #21)", async () => {
    // The scan for personal data ends on the last message (the only one with an address), the
    // classifier is called once the rules are done: the loop must have turned between the two.
    const turns = countEventLoopTurns();
    let scanEnded = -1;
    let classifierCalled = -1;
    const classifier = new LocalStatementClassifier();
    const subject = new MemoryIntake(
      recordingSettlement(),
      {
        classify: (candidates, signal) => {
          classifierCalled = turns.turns;
          return classifier.classify(candidates, signal);
        },
      },
      { piiMode: "redact" },
      { piiFound: () => (scanEnded = turns.turns) },
      () => now,
    );
    const messages = Array.from({ length: 100 }, (_, i) => ({
      id: `m${i}`,
      sequence: i + 1,
      role: "user" as const,
      content: i === 99 ? "Write to me at jane.doe@example.com about the trip." : randomWords(i + 1, 32 * 1024),
      metadata: {},
      tokenCount: 5,
      createdAt: now,
      occurredAt: now,
    }));
    try {
      expect(await subject.extract(scope, "s", messages)).toHaveLength(100);
    } finally {
      turns.stop();
    }
    expect(scanEnded).toBeGreaterThanOrEqual(0);
    expect(classifierCalled).toBeGreaterThan(scanEnded);
  });

  it("drops what the rules drop and keeps the caller's type when the gate is skipped", async () => {
    const { intake: subject, settlement } = intake();
    const outcomes = await subject.importMemories(scope, [item("ok thanks!"), item("Prefers tea")], {
      applyGate: false,
      caller: "t",
    });
    expect(outcomes.map((o) => o.decision.stored)).toEqual([true, true]);
    expect(settlement.written.map((w) => w.type)).toEqual(["semantic", "semantic"]);
    const gated = await intake().intake.importMemories(scope, [item("ok thanks!")], { applyGate: true, caller: "t" });
    expect(gated[0]!.decision).toMatchObject({ stored: false, reason: "pleasantry", decidedBy: "rules" });
  });

  it("leaves the time of a write that states none to settlement (undated), and a stated time as stated", async () => {
    const { intake: subject, settlement } = intake();
    const told = { ...item("I work at Acme"), importance: 0.5, applyGate: false, caller: "t" };
    await subject.remember(scope, told);
    await subject.remember(scope, { ...told, occurredAt: new Date("2026-05-01T00:00:00Z") });
    await subject.importMemories(
      scope,
      [item("I work at Acme"), { ...item("I work at Acme"), createdAt: new Date("2026-05-01T00:00:00Z") }],
      { applyGate: false, caller: "t" },
    );
    expect(settlement.written.map((w) => w.undated ?? false)).toEqual([true, false, true, false]);
  });
});
