import { describe, expect, it } from "vitest";
import { addsWords, inferSubject, resolveConflict, supersedes } from "../../src/domain/conflicts.js";
import type { MemoryType } from "../../src/domain/types.js";
import { memoryRecord } from "../support/memory-fixtures.js";

const scope = { namespace: "n", userId: "u" };

const year = (y: number) => new Date(`${y}-06-01T00:00:00Z`);
const incoming = (type: MemoryType, content: string, subject = "", occurredAt = new Date()) => ({
  type,
  content,
  subject,
  occurredAt,
});

describe("resolveConflict", () => {
  it("merges a near-duplicate of the same type instead of adding a copy", () => {
    const existing = memoryRecord(scope, "likes jazz", { type: "preference" });
    expect(resolveConflict(incoming("preference", "likes jazz"), [{ record: existing, relevance: 0.97 }])).toEqual({
      kind: "merge",
      target: existing,
      takeIncomingContent: false,
    });
  });

  it("does not merge memories that are close in meaning but each says something the other does not", () => {
    // Similarities a sentence-embedding model (all-MiniLM-L6-v2) gives these pairs.
    const code = memoryRecord(scope, "my locker code is 4417", { type: "semantic" });
    expect(
      resolveConflict(incoming("semantic", "my locker code is 4418"), [{ record: code, relevance: 0.97 }]),
    ).toEqual({ kind: "create" });
    const meeting = memoryRecord(scope, "Meeting with Bob on Tuesday", { type: "episodic" });
    expect(
      resolveConflict(incoming("episodic", "Meeting with Bob on Friday"), [{ record: meeting, relevance: 0.96 }]),
    ).toEqual({ kind: "create" });
    const seats = memoryRecord(scope, "Prefers aisle seats", { type: "preference" });
    expect(
      resolveConflict(incoming("preference", "The user prefers aisle seats on long flights"), [
        { record: seats, relevance: 0.93 },
      ]),
    ).toMatchObject({ kind: "merge", target: seats, takeIncomingContent: true });
  });

  it("does not merge across types or with superseded memories", () => {
    const fact = memoryRecord(scope, "likes jazz", { type: "semantic" });
    const old = memoryRecord(scope, "likes jazz", { type: "preference", supersededBy: "x" });
    expect(
      resolveConflict(incoming("preference", "likes jazz"), [
        { record: fact, relevance: 0.99 },
        { record: old, relevance: 0.99 },
      ]),
    ).toEqual({ kind: "create" });
  });

  it("a merge keeps the newer text when it adds words, else the more detailed older one", () => {
    const stored = memoryRecord(scope, "Likes jazz", { type: "preference", occurredAt: year(2020) });
    const near = (content: string, at: Date) =>
      resolveConflict(incoming("preference", content, "", at), [{ record: stored, relevance: 0.95 }]);
    expect(near("Likes jazz, especially Coltrane", year(2024))).toMatchObject({ takeIncomingContent: true });
    expect(near("likes jazz", year(2024))).toMatchObject({ takeIncomingContent: false });
    // Older but more detailed, and the stored one adds nothing: the detail is kept.
    expect(near("Likes jazz, especially Coltrane", year(2019))).toMatchObject({ takeIncomingContent: true });
    const detailed = memoryRecord(scope, "Likes jazz, especially Coltrane", {
      type: "preference",
      occurredAt: year(2024),
    });
    expect(
      resolveConflict(incoming("preference", "Likes jazz", "", year(2025)), [{ record: detailed, relevance: 0.95 }]),
    ).toMatchObject({ takeIncomingContent: false });
  });

  it("updates a fact with the same subject in place when the incoming one is newer", () => {
    const older = memoryRecord(scope, "works at Acme", {
      type: "semantic",
      subject: "employer",
      occurredAt: year(2019),
    });
    const newer = memoryRecord(scope, "works at Initech", {
      type: "semantic",
      subject: "employer",
      occurredAt: year(2021),
    });
    expect(
      resolveConflict(incoming("semantic", "works at Globex", "employer", year(2024)), [
        { record: older, relevance: 0.5 },
        { record: newer, relevance: 0.4 },
      ]),
    ).toEqual({ kind: "update", target: newer });
  });

  it("stores an older fact already superseded by the newer one, never as current", () => {
    const lisbon = memoryRecord(scope, "Lives in Lisbon", {
      type: "semantic",
      subject: "home",
      occurredAt: year(2024),
    });
    expect(
      resolveConflict(incoming("semantic", "Lives in Porto", "home", year(2019)), [{ record: lisbon, relevance: 0.6 }]),
    ).toEqual({ kind: "superseded", successor: lisbon });
  });

  it("supersedes older preferences of the same subject", () => {
    const python = memoryRecord(scope, "I prefer Python for scripting tasks", {
      type: "preference",
      subject: "programming-language",
      occurredAt: year(2020),
    });
    expect(
      resolveConflict(incoming("preference", "I prefer Go", "programming-language", year(2024)), [
        { record: python, relevance: 0.1 },
      ]),
    ).toEqual({ kind: "supersede", targets: [python] });
  });

  it("an older preference arriving late is superseded by the closest newer one", () => {
    const rust = memoryRecord(scope, "I prefer Rust", {
      type: "preference",
      subject: "programming-language",
      occurredAt: year(2024),
    });
    const go = memoryRecord(scope, "I prefer Go", {
      type: "preference",
      subject: "programming-language",
      occurredAt: year(2022),
    });
    expect(
      resolveConflict(incoming("preference", "I prefer Python", "programming-language", year(2019)), [
        { record: rust, relevance: 0.3 },
        { record: go, relevance: 0.3 },
      ]),
    ).toEqual({ kind: "superseded", successor: go });
  });

  it("a tie in time goes to the incoming memory, the later correction", () => {
    const at = year(2024);
    const aisle = memoryRecord(scope, "Aisle seat please", { type: "preference", subject: "seat", occurredAt: at });
    expect(
      resolveConflict(incoming("preference", "Window seat please", "seat", at), [{ record: aisle, relevance: 0.5 }]),
    ).toEqual({ kind: "supersede", targets: [aisle] });
  });

  it("events never supersede each other; decisions do", () => {
    const paris = memoryRecord(scope, "I booked a window seat to Paris", {
      type: "episodic",
      subject: "seat",
      occurredAt: year(2024),
    });
    expect(
      resolveConflict(incoming("episodic", "I booked an aisle seat to Lisbon", "seat", year(2025)), [
        { record: paris, relevance: 0.8 },
      ]),
    ).toEqual({ kind: "create" });
    const decided = memoryRecord(scope, "We decided on an aisle seat for long flights", {
      type: "episodic",
      subject: "seat",
      occurredAt: year(2024),
    });
    expect(
      resolveConflict(incoming("episodic", "We decided to take window seats from now on", "seat", year(2025)), [
        { record: decided, relevance: 0.5 },
      ]),
    ).toEqual({ kind: "supersede", targets: [decided] });
    expect(supersedes({ type: "episodic", content: "I booked a table at Nopa" })).toBe(false);
    expect(supersedes({ type: "episodic", content: "I've switched to the night shift" })).toBe(true);
    expect(supersedes({ type: "semantic", content: "Lives in Lisbon" })).toBe(true);
  });

  it("measures added detail in words, ignoring case and punctuation", () => {
    expect(addsWords("Likes jazz, especially Coltrane", "likes jazz")).toBe(true);
    expect(addsWords("LIKES JAZZ!", "likes jazz")).toBe(false);
  });
});

describe("inferSubject", () => {
  it("recognises what a preference is about from a small lexicon", () => {
    expect(inferSubject("preference", "I prefer Python for scripting tasks")).toBe("programming-language");
    expect(inferSubject("preference", "I've switched everything to Go")).toBe("programming-language");
    expect(inferSubject("preference", "I like to go hiking on Sundays")).toBe("");
    expect(inferSubject("preference", "Window seat please, always")).toBe("seat");
    expect(inferSubject("semantic", "Python is installed on the laptop")).toBe("");
  });
});

describe("inferSubject precision: ordinary words never name a subject", () => {
  const cases: [string, string][] = [
    ["Go for it!", ""],
    ["Go ahead, I trust you.", ""],
    ["I'm going on a diet of TV shows this weekend", ""],
    ["I saw a python at the zoo with my kids", ""],
    ["My old bike is covered in rust", ""],
    ["We had a sublime evening by the lake", ""],
    ["I need to clean the windows this weekend", ""],
    ["It was 30 celsius today", ""],
    ["Taylor Swift is on tour and I got tickets", ""],
    ["At work most of my code these days is in Rust", "programming-language"],
    ["We rewrote the services, so I write Go all day now", "programming-language"],
    ["I installed Windows on the new laptop", "operating-system"],
    ["I only edit in Sublime, the editor is fast", "editor"],
    ["I've been vegetarian since 2019", "diet"],
    ["Please show temperatures in Fahrenheit", "units"],
  ];
  for (const [text, subject] of cases) {
    it(`"${text}" -> ${subject || "none"}`, () => {
      expect(inferSubject("preference", text)).toBe(subject);
      expect(inferSubject("episodic", text)).toBe(subject);
    });
  }
});
