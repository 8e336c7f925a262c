import { describe, expect, it } from "vitest";
import { inferSubject, resolveConflict } from "../../src/domain/conflicts.js";
import { memoryRecord } from "../support/memory-fixtures.js";

const scope = { namespace: "n", userId: "u" };

describe("resolveConflict", () => {
  it("merges a near-duplicate of the same type instead of adding a copy", () => {
    const existing = memoryRecord(scope, "likes jazz", { type: "preference" });
    expect(resolveConflict({ type: "preference", subject: "" }, [{ record: existing, relevance: 0.97 }])).toEqual({
      kind: "merge",
      target: existing,
    });
  });

  it("does not merge across types or with superseded memories", () => {
    const fact = memoryRecord(scope, "likes jazz", { type: "semantic" });
    const old = memoryRecord(scope, "likes jazz", { type: "preference", supersededBy: "x" });
    expect(
      resolveConflict({ type: "preference", subject: "" }, [
        { record: fact, relevance: 0.99 },
        { record: old, relevance: 0.99 },
      ]),
    ).toEqual({
      kind: "create",
    });
  });

  it("updates a fact with the same subject in place", () => {
    const older = memoryRecord(scope, "works at Acme", {
      type: "semantic",
      subject: "employer",
      updatedAt: new Date(1000),
    });
    const newer = memoryRecord(scope, "works at Initech", {
      type: "semantic",
      subject: "employer",
      updatedAt: new Date(2000),
    });
    expect(
      resolveConflict({ type: "semantic", subject: "employer" }, [
        { record: older, relevance: 0.5 },
        { record: newer, relevance: 0.4 },
      ]),
    ).toEqual({ kind: "update", target: newer });
  });

  it("supersedes older preferences of the same subject", () => {
    const python = memoryRecord(scope, "I prefer Python for scripting tasks", {
      type: "preference",
      subject: "programming-language",
    });
    expect(
      resolveConflict({ type: "preference", subject: "programming-language" }, [{ record: python, relevance: 0.1 }]),
    ).toEqual({
      kind: "supersede",
      targets: [python],
    });
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
