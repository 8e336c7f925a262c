import { describe, expect, it } from "vitest";
import { countTokens } from "../../src/domain/tokenizer.js";
import { cosine } from "../../src/domain/vectors.js";
import { LocalEmbedder } from "../../src/models/local-embedder.js";
import { LocalSummariser } from "../../src/models/local-summariser.js";
import { randomWords } from "../support/adversarial-texts.js";
import { countEventLoopTurns } from "../support/event-loop-turns.js";

describe("LocalEmbedder", () => {
  const embedder = new LocalEmbedder(256);

  it("is deterministic and unit-length", () => {
    const [a, b] = [embedder.embedOne("The cat sat on the mat"), embedder.embedOne("The cat sat on the mat")];
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(cosine(a, a)).toBeCloseTo(1, 5);
    expect(a).toHaveLength(256);
  });

  it("places texts that share words closer than unrelated ones", () => {
    const query = embedder.embedOne("which programming language for scripts");
    const related = embedder.embedOne("prefers Python for scripting and programming");
    const unrelated = embedder.embedOne("allergic to peanuts and shellfish");
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated) + 0.1);
  });

  it("returns a zero vector for text without words", () => {
    expect(cosine(embedder.embedOne("!!! ???"), embedder.embedOne("hello"))).toBe(0);
  });
});

describe("LocalSummariser", () => {
  const summariser = new LocalSummariser();

  it("keeps one line per folded message when it fits", async () => {
    const summary = await summariser.summarise(
      "",
      [
        { role: "user", content: "I need a flight to Lisbon on Friday. Morning if possible." },
        { role: "assistant", content: "I found three flights. The 8am TAP flight is cheapest." },
      ],
      200,
    );
    expect(summary.split("\n")).toHaveLength(3);
    expect(summary).toContain("user: ");
    expect(summary).toContain("assistant: ");
    expect(summary).toMatch(/Lisbon/);
  });

  it("carries the previous summary forward", async () => {
    const first = await summariser.summarise("", [{ role: "user", content: "My budget is 300 euros." }], 200);
    const second = await summariser.summarise(first, [{ role: "user", content: "Window seat please." }], 200);
    expect(second).toContain("300 euros");
    expect(second).toContain("Window seat");
  });

  it("lets other callers run while it reads a large fold (it took 0.5 s of event loop in one piece, #21)", async () => {
    // Each message records the event-loop turn in which the summariser reads it.
    const turns = countEventLoopTurns();
    const readIn: number[] = [];
    const lines = Array.from({ length: 100 }, (_, i) => {
      const content = randomWords(i + 1, 32 * 1024);
      return {
        role: "user",
        get content() {
          readIn.push(turns.turns);
          return content;
        },
      };
    });
    try {
      const summary = await summariser.summarise("", lines, 500);
      expect(summary).toMatch(/^Summary of the earlier conversation:\n- user: /);
    } finally {
      turns.stop();
    }
    expect(readIn).toHaveLength(100);
    expect(readIn.at(-1)).toBeGreaterThan(readIn[0]!);
  });

  it("stays within its token target", async () => {
    const lines = Array.from({ length: 60 }, (_, i) => ({
      role: "user",
      content: `Detail number ${i} about topic ${i * 7}.`,
    }));
    const summary = await summariser.summarise("", lines, 80);
    expect(countTokens(summary)).toBeLessThanOrEqual(80);
  });
});

describe("countTokens", () => {
  it("counts with a real BPE tokenizer and treats special-token text as plain text", () => {
    expect(countTokens("hello world")).toBe(2);
    expect(countTokens("<|endoftext|>")).toBeGreaterThan(1);
  });
});
