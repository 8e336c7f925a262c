import { describe, expect, it } from "vitest";
import { changeCue } from "../../src/domain/change-statements.js";
import { correctedText, inferSubject, isNearDuplicate, resolveConflict } from "../../src/domain/conflicts.js";
import { informativeTokens } from "../../src/domain/informative-tokens.js";
import type { MemoryType } from "../../src/domain/types.js";
import { gateByRules } from "../../src/domain/write-gate.js";
import { memoryRecord } from "../support/memory-fixtures.js";

const scope = { namespace: "n", userId: "u" };
const day = (d: number) => new Date(Date.UTC(2026, 4, d));
const gate = (content: string) => gateByRules({ id: "0", role: "user", content, metadata: {} });
const incoming = (type: MemoryType, content: string, occurredAt = day(10), speaker?: string) => ({
  type,
  content,
  subject: inferSubject(type, content),
  occurredAt,
  speaker,
});
const stored = (content: string, type: MemoryType = "semantic", speaker?: string) =>
  memoryRecord(scope, content, {
    type,
    subject: inferSubject(type, content),
    occurredAt: day(1),
    ...(speaker ? { speaker } : {}),
  });

describe("the write gate keeps short statements about the user's own world", () => {
  it.each([
    ["I adore cilantro.", "preference"],
    ["I'm vegan", "preference"],
    ["Standup is at 9:30.", "semantic"],
    ["Our weekly sync is on Tuesdays.", "semantic"],
    ["I'm a nurse.", "semantic"],
    ["My partner is Sam.", "semantic"],
    ["We relocated to Valencia in March.", "semantic"],
    ["I no longer eat meat.", "preference"],
    // A change with no known subject is kept like an incidental statement, for settlement to place.
    ["Actually it's 4418.", "episodic"],
    ["I no longer drink coffee.", "episodic"],
  ])("%s -> kept as %s", (text, type) => {
    expect(gate(text)).toMatchObject({ action: "store", type });
  });

  it.each([
    ["ok thanks!", "pleasantry"],
    ["Sounds fine", "too-short"],
    ["Is standup at 9:30?", "question"],
    ["Go for it!", "too-short"],
  ])("%s -> still dropped (%s)", (text, reason) => {
    expect(gate(text)).toEqual({ action: "drop", reason });
  });
});

describe("change statements", () => {
  it.each([
    ["We relocated to Valencia in March.", "move", "home"],
    ["I've moved to Berlin.", "move", "home"],
    ["We're moving to Porto next month.", "move", "home"],
    ["Standup moved to 10:00 from next week.", "change", "schedule:standup"],
    ["The standup is being moved to 10:00.", "change", "schedule:standup"],
    ["I no longer eat meat.", "stop", "diet"],
    ["I don't eat fish anymore.", "stop", "diet"],
    ["I quit my job at Acme.", "stop", "workplace"],
    ["I'm now at Globex.", "change", "workplace"],
    ["I gave up smoking last year.", "stop", ""],
    ["Actually it's 4418.", "correction", ""],
    ["I meant Lisbon, not Porto.", "correction", ""],
  ])("%s -> %s of %s", (text, cue, subject) => {
    expect(changeCue(text)).toBe(cue);
    expect(inferSubject("semantic", text)).toBe(subject);
  });

  it.each(["I live in Madrid.", "I adore cilantro.", "Standup is at 9:30.", "My sister lives in Porto."])(
    "%s announces no change",
    (text) => expect(changeCue(text)).toBeUndefined(),
  );

  it("a move supersedes where the user lived, found by subject though they share no word", () => {
    const home = stored("I live in Madrid.");
    const move = incoming("semantic", "We relocated to Valencia in March.");
    expect(resolveConflict(move, [{ record: home, relevance: 0.38 }])).toEqual({ kind: "supersede", targets: [home] });
  });

  it("a change with no known subject finds its target by meaning and a shared word, of any type", () => {
    const cilantro = stored("I adore cilantro.", "preference");
    const soap = incoming("preference", "Cilantro tastes like soap to me now, leave it out.");
    expect(resolveConflict(soap, [{ record: cilantro, relevance: 0.68 }])).toEqual({
      kind: "supersede",
      targets: [cilantro],
    });
    const coffee = stored("I drink coffee every morning.", "episodic");
    const stopped = incoming("semantic", "I no longer drink coffee.");
    expect(resolveConflict(stopped, [{ record: coffee, relevance: 0.67 }])).toEqual({
      kind: "supersede",
      targets: [coffee],
    });
  });

  it("must not: a stop leaves other things of its subject alone, and nothing unrelated is superseded", () => {
    const vim = stored("I use Vim for everything.", "preference");
    expect(
      resolveConflict(incoming("preference", "I stopped using Emacs."), [{ record: vim, relevance: 0.34 }]),
    ).toEqual({
      kind: "create",
    });
    const jazz = stored("I like jazz.", "preference");
    expect(
      resolveConflict(incoming("semantic", "I no longer drink coffee."), [{ record: jazz, relevance: 0.07 }]),
    ).toEqual({ kind: "create" });
    const tennis = stored("I play tennis on weekends.", "semantic");
    expect(
      resolveConflict(incoming("semantic", "I stopped playing the piano."), [{ record: tennis, relevance: 0.2 }]),
    ).toEqual({ kind: "create" });
  });

  it("must not: one speaker's move does not change where another lives", () => {
    const maya = stored("I just moved to Porto for a new job.", "semantic", "Maya");
    const tomas = incoming("semantic", "I just moved to Denver for a new job.", day(10), "Tomas");
    expect(resolveConflict(tomas, [{ record: maya, relevance: 0.8 }])).toEqual({ kind: "create" });
  });

  it("an older change statement is stored as history of the current memory", () => {
    const current = { ...stored("I live in Valencia."), occurredAt: day(20) };
    expect(
      resolveConflict(incoming("semantic", "We relocated to Madrid."), [{ record: current, relevance: 0.5 }]),
    ).toEqual({
      kind: "superseded",
      successor: current,
    });
  });

  it("a self-correction is applied to what it corrects", () => {
    const code = stored("My locker code is 4417.");
    expect(resolveConflict(incoming("semantic", "Actually it's 4418."), [{ record: code, relevance: 0.51 }])).toEqual({
      kind: "supersede",
      targets: [code],
      content: "My locker code is 4418.",
      type: "semantic",
      subject: "",
    });
    expect(correctedText("My sister lives in Porto.", "I meant Lisbon, not Porto.")).toBe("My sister lives in Lisbon.");
    expect(correctedText("My locker code is 4417.", "Sorry, I meant 4418, not 4417.")).toBe("My locker code is 4418.");
    // Nothing to apply word for word: no target rather than a guess.
    expect(correctedText("I like jazz.", "Actually it's 4418.")).toBeUndefined();
  });
});

describe("paraphrase merges that cannot lose information", () => {
  // Similarities all-MiniLM-L6-v2 (the default embedder) gives each pair.
  it.each([
    [0.914, "This service is written in async Rust", "This service runs on async Rust throughout"],
    [0.848, "This service is written in async Rust", "The service's code base is async Rust throughout"],
    [0.9, "I work on the front end", "I work on the frontend"],
    [0.946, "My dentist appointment is on Monday", "I have a dentist appointment Monday"],
  ])("%s: %s = %s", (relevance, a, b) => {
    expect(isNearDuplicate(relevance, a, b)).toBe(true);
  });

  it.each([
    [0.971, "my locker code is 4417", "my locker code is 4418"],
    [0.959, "Meeting with Bob on Tuesday", "Meeting with Bob on Friday"],
    [0.883, "I like cilantro", "I don't like cilantro"],
    [0.95, "I like cilantro", "I do not like cilantro"],
    [0.879, "My sister lives in Lisbon", "My brother lives in Lisbon"],
    [0.93, "Dinner with Ana at 7pm", "Dinner with Ana at 8pm"],
  ])("must not: %s: %s / %s", (relevance, a, b) => {
    expect(isNearDuplicate(relevance, a, b)).toBe(false);
  });

  it("a longer text that only adds detail still merges", () => {
    expect(isNearDuplicate(0.93, "Prefers aisle seats", "The user prefers aisle seats on long flights")).toBe(true);
  });

  it("keeps the more specific of two paraphrases", () => {
    const short = memoryRecord(scope, "This service is written in async Rust", { occurredAt: day(1) });
    const resolution = resolveConflict(
      incoming("semantic", "The service's code base is written in async Rust throughout"),
      [{ record: short, relevance: 0.9 }],
    );
    expect(resolution).toMatchObject({ kind: "merge", target: short, takeIncomingContent: true });
  });

  it("names, numbers, days and negation are informative", () => {
    expect([...informativeTokens("Meeting with Bob on Tuesday at 9:30, not before")].sort()).toEqual([
      "9:30",
      "bob",
      "negation",
      "tuesday",
    ]);
  });
});

describe("schedule items", () => {
  it("change only when told they changed: two meetings at two times may both be true", () => {
    const tuesday = stored("Meeting with Bob on Tuesday");
    expect(
      resolveConflict(incoming("semantic", "Meeting with Bob on Friday"), [{ record: tuesday, relevance: 0.96 }]),
    ).toEqual({ kind: "create" });
    expect(
      resolveConflict(incoming("semantic", "The meeting with Bob moved to Friday"), [
        { record: tuesday, relevance: 0.8 },
      ]),
    ).toEqual({ kind: "supersede", targets: [tuesday] });
  });
});

describe("a model's judgement", () => {
  const home = stored("The user's home city is Madrid.");
  const judged = (kind: "repeats" | "refines" | "contradicts", content: string) => ({
    ...incoming("semantic", content),
    judged: { kind, memoryIds: [home.id] },
  });

  it("supersedes what it contradicts, though the rules see no subject or change word", () => {
    expect(
      resolveConflict(incoming("semantic", "The user lives in Valencia."), [{ record: home, relevance: 0.4 }]),
    ).toEqual({
      kind: "create",
    });
    expect(
      resolveConflict(judged("contradicts", "The user lives in Valencia."), [{ record: home, relevance: 0.4 }]),
    ).toEqual({ kind: "supersede", targets: [home] });
  });

  it("merges what it repeats or refines, taking the refined text", () => {
    expect(resolveConflict(judged("repeats", "The user lives in Madrid."), [{ record: home, relevance: 0.6 }])).toEqual(
      {
        kind: "merge",
        target: home,
        takeIncomingContent: false,
      },
    );
    expect(
      resolveConflict(judged("refines", "The user lives in central Madrid, near Retiro."), [
        { record: home, relevance: 0.6 },
      ]),
    ).toMatchObject({ kind: "merge", takeIncomingContent: true });
  });

  it("naming a memory that is not current changes nothing", () => {
    const gone = { ...home, supersededBy: "x" };
    expect(
      resolveConflict(judged("contradicts", "The user lives in Valencia."), [{ record: gone, relevance: 0.4 }]),
    ).toEqual({ kind: "create" });
  });
});
