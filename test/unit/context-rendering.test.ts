import { describe, expect, it } from "vitest";
import { preambleLine, renderContext } from "../../src/domain/context-rendering.js";
import { countTokens } from "../../src/domain/tokenizer.js";
import type { ContextItem, ContextSection, SectionKind } from "../../src/domain/types.js";

const section = (kind: SectionKind, items: ContextItem[]): ContextSection => ({
  kind,
  items,
  tokenCount: items.reduce((sum, i) => sum + i.tokenCount, 0),
});
const item = (id: string, content: string, turn?: ContextItem["turn"]): ContextItem => ({
  id,
  content,
  tokenCount: countTokens(content),
  ...(turn ? { turn } : {}),
});

describe("renderContext", () => {
  it("puts memories, task state, documents and the summary in one system preamble, then the turns", () => {
    const rendered = renderContext([
      section("long_term_memories", [item("m1", "[preference] I prefer aisle seats")]),
      section("task_state", [item("step", "step: 2 of 5"), item("city", "city: Lisbon")]),
      section("documents", [item("d1", "[faq.md] Bags up to 8 kg fly free")]),
      section("conversation_history", [
        item("summary", "The user is planning a trip to Lisbon."),
        item("a", "user: Book me a flight", { role: "user", content: "Book me a flight" }),
        item("b", 'tool: {"flights":2}', { role: "tool", content: '{"flights":2}' }),
        item("c", "assistant: Two flights found", { role: "assistant", content: "Two flights found" }),
      ]),
    ]);
    expect(rendered.messages).toEqual([
      {
        role: "system",
        content: [
          preambleLine,
          "## What you remember about the user\n- [preference] I prefer aisle seats",
          "## Current task state\n- step: 2 of 5\n- city: Lisbon",
          "## Reference documents\n- [faq.md] Bags up to 8 kg fly free",
          "## Summary of the conversation so far\nThe user is planning a trip to Lisbon.",
        ].join("\n\n"),
      },
      { role: "user", content: "Book me a flight" },
      { role: "assistant", content: '[tool output] {"flights":2}' },
      { role: "assistant", content: "Two flights found" },
    ]);
    expect(rendered.tokenCount).toBe(rendered.messages.reduce((sum, m) => sum + countTokens(m.content), 0));
  });

  it("leaves out empty sections, and the preamble when there is nothing for it", () => {
    const turnsOnly = renderContext([
      section("long_term_memories", []),
      section("conversation_history", [item("a", "user: hi", { role: "user", content: "hi" })]),
    ]);
    expect(turnsOnly.messages).toEqual([{ role: "user", content: "hi" }]);

    const memoryOnly = renderContext([section("long_term_memories", [item("m1", "[semantic] I work at Acme")])]);
    expect(memoryOnly.messages).toHaveLength(1);
    expect(memoryOnly.messages[0]!.content).not.toMatch(/Current task state|Reference documents|Summary/);
    expect(renderContext([]).messages).toEqual([]);
  });
});
