import { countTokens } from "./tokenizer.js";
import type { ChatMessage, ContextSection, RenderedContext, SectionKind } from "./types.js";

/**
 * Renders an assembled context as chat messages a gateway can send as they
 * are: one system message (the preamble) with everything that is not a
 * conversation turn, then the kept turns, oldest first. Pure.
 *
 * The template (the README's "Rendered context" shows it whole):
 *
 *   <preamble line>
 *
 *   ## <heading of a section>
 *   - <item>
 *   ...
 *
 * with a heading per non-empty section in the order memories, task state,
 * documents, then the conversation's summary (compacted turns). The preamble
 * is left out when all of those are empty. Items keep their assembled text
 * ("[preference] ...", "key: value", "[source] ..."). A tool's output becomes
 * an assistant turn prefixed "[tool output] ", since a tool message needs the
 * id of a call the gateway never made.
 */
export const preambleLine =
  "Context from the application's memory of this user and conversation. Use what is relevant; " +
  "do not mention this context unless asked.";

export const sectionHeadings: Readonly<Record<Exclude<SectionKind, "conversation_history">, string>> = {
  long_term_memories: "What you remember about the user",
  task_state: "Current task state",
  documents: "Reference documents",
};
export const summaryHeading = "Summary of the conversation so far";

export function renderContext(sections: readonly ContextSection[]): RenderedContext {
  const messages = renderMessages(sections);
  return { messages, tokenCount: messages.reduce((sum, m) => sum + countTokens(m.content), 0) };
}

/** The messages alone, for a caller that counts their tokens itself (in time slices). */
export function renderMessages(sections: readonly ContextSection[]): ChatMessage[] {
  const blocks: string[] = [];
  const turns: ChatMessage[] = [];
  for (const kind of ["long_term_memories", "task_state", "documents"] as const) {
    const items = sections.find((s) => s.kind === kind)?.items ?? [];
    if (items.length > 0) blocks.push(`## ${sectionHeadings[kind]}\n${items.map((i) => `- ${i.content}`).join("\n")}`);
  }
  for (const item of sections.find((s) => s.kind === "conversation_history")?.items ?? []) {
    if (!item.turn) {
      blocks.push(`## ${summaryHeading}\n${item.content}`);
    } else if (item.turn.role === "tool") {
      turns.push({ role: "assistant", content: `[tool output] ${item.turn.content}` });
    } else {
      turns.push({ role: item.turn.role, content: item.turn.content });
    }
  }
  return blocks.length > 0 ? [{ role: "system", content: [preambleLine, ...blocks].join("\n\n") }, ...turns] : turns;
}
