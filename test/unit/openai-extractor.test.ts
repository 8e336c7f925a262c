import { describe, expect, it } from "vitest";
import { parseStatements } from "../../src/models/openai-extractor.js";

const asked = new Set(["m1", "m2"]);
const good = {
  content: "The user prefers aisle seats.",
  type: "preference",
  importance: 1.4,
  subject: "seat",
  occurred_at: "2025-05-01T10:00:00Z",
  message_ids: ["m1", "elsewhere"],
};

describe("parseStatements", () => {
  it("keeps valid statements, clamps importance and keeps only the asked-about message ids", () => {
    expect(parseStatements(JSON.stringify({ memories: [good] }), asked)).toEqual([
      {
        content: "The user prefers aisle seats.",
        type: "preference",
        importance: 1,
        subject: "seat",
        occurredAt: new Date("2025-05-01T10:00:00Z"),
        messageIds: ["m1"],
      },
    ]);
    expect(parseStatements('{"memories": []}', asked)).toEqual([]);
  });

  it("keeps the model's relation to the current memories it was shown, and ignores ids it was not", () => {
    const judged = { ...good, relation: "contradicts", memory_ids: ["mem-1", "invented"] };
    expect(parseStatements(JSON.stringify({ memories: [judged] }), asked, new Set(["mem-1"]))[0]?.relation).toEqual({
      kind: "contradicts",
      memoryIds: ["mem-1"],
    });
    const unknown = { ...good, relation: "contradicts", memory_ids: ["invented"] };
    expect(
      parseStatements(JSON.stringify({ memories: [unknown] }), asked, new Set(["mem-1"]))[0]?.relation,
    ).toBeUndefined();
    const fresh = { ...good, relation: "new", memory_ids: [] };
    expect(parseStatements(JSON.stringify({ memories: [fresh] }), asked)[0]?.relation).toBeUndefined();
  });

  it.each([
    ["not JSON", "{memories"],
    ["no list", '{"facts": []}'],
    ["one bad item among good ones", JSON.stringify({ memories: [good, { ...good, type: "opinion" }] })],
    ["a statement citing no new message", JSON.stringify({ memories: [{ ...good, message_ids: ["old"] }] })],
    ["empty content", JSON.stringify({ memories: [{ ...good, content: " " }] })],
  ])("rejects the whole output: %s", (_, text) => {
    expect(() => parseStatements(text, asked)).toThrow();
  });
});
