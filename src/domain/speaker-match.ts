import type { Memory } from "./types.js";

/**
 * Who said it: a question that names a speaker ("What did Caroline
 * research?") is about what that person said, so memories of that speaker
 * move `boost` of the way from their relevance to 1 (r + boost × (1 − r):
 * still within 0..1) over the same words from anyone else. A name
 * matches a speaker case-insensitively, whole or as the speaker's first
 * name ("Caroline" matches "Caroline Diaz"). Queries naming no speaker of
 * the candidates leave the relevances as they are. Pure.
 */
export function boostNamedSpeakers<T extends { readonly memory: Memory; readonly relevance: number }>(
  candidates: readonly T[],
  names: readonly string[],
  boost: number,
): T[] {
  if (names.length === 0 || boost === 0) return [...candidates];
  const named = new Set(names.map((n) => n.toLowerCase()));
  const spoke = (memory: Memory) => {
    const speaker = memory.speaker?.toLowerCase() ?? "";
    return speaker !== "" && (named.has(speaker) || named.has(speaker.split(/\s+/)[0]!));
  };
  return candidates.map((c) => (spoke(c.memory) ? { ...c, relevance: c.relevance + boost * (1 - c.relevance) } : c));
}
