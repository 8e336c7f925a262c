import type { Memory } from "./types.js";

/**
 * The neighbouring turn: in a conversation the answer to a question is
 * often the reply to the turn that matches it ("What did you paint last
 * week?" / "A lake at sunrise!"): the reply shares few words with the
 * question, the turn before it many. So each candidate lifts the candidate
 * said right after it in the same session (the next memory in time, within
 * `windowMs`): r + share × r_before × (1 − r), so relevance stays within
 * 0..1. Memories without a neighbour before them keep their relevance. Pure.
 *
 * "Said right after" holds only between memories that each stand for one
 * utterance (`saidOnce`, `storedInOrder`). A memory merged from many
 * statements (chatter such as "Would you like me to make a note of that?",
 * one memory for dozens of turns) sits in time at its newest telling, after
 * whatever happened to precede that telling; lifting it there ranked it
 * above the answers it displaced (docs/recall-quality.md, synthetic set).
 *
 * Measured on LoCoMo's dev set (docs/recall-quality.md): +3.5 points of
 * recall_any@10 storing every turn, +4 on the default write path.
 */
export function liftReplies<T extends { readonly memory: Memory; readonly relevance: number }>(
  candidates: readonly T[],
  share: number,
  windowMs: number,
): T[] {
  if (share === 0 || candidates.length < 2) return [...candidates];
  const order = candidates
    .map((c, i) => ({ i, at: c.memory.occurredAt.getTime(), session: sessionOf(c.memory) }))
    .sort((a, b) => a.at - b.at || a.i - b.i);
  const lift = new Array<number>(candidates.length).fill(0);
  for (let j = 1; j < order.length; j++) {
    const before = order[j - 1]!;
    const after = order[j]!;
    if (before.session !== after.session || after.at - before.at > windowMs) continue;
    const earlier = candidates[before.i]!.memory;
    const later = candidates[after.i]!.memory;
    if (!saidOnce(earlier) || !saidOnce(later) || !storedInOrder(earlier, later)) continue;
    lift[after.i] = share * candidates[before.i]!.relevance;
  }
  return candidates.map((c, i) =>
    lift[i] === 0 ? c : { ...c, relevance: c.relevance + lift[i]! * (1 - c.relevance) },
  );
}

/**
 * Whether a memory stands for one utterance as far as it records: learnt
 * from at most one message, and never given another account of itself (a
 * merge of a near-duplicate with other words, or an update, leaves the
 * earlier one in `history`).
 */
export function saidOnce(memory: Memory): boolean {
  return memory.source.messageIds.length <= 1 && (memory.history?.length ?? 0) === 0;
}

/**
 * Whether `later` (said after `earlier`) was also stored no earlier than
 * it. Memories are written as they are said (Remember turn by turn, or a
 * session's at its end, with one `createdAt`), so a reply is stored no
 * earlier than the turn before it. A memory stored before that turn was
 * said before it and told again since: an identical retelling merges into
 * it, moving its `occurredAt` to the newest telling and recording nothing
 * else, so this is the one trace of it.
 */
export function storedInOrder(earlier: Memory, later: Memory): boolean {
  return later.createdAt.getTime() >= earlier.createdAt.getTime();
}

/** Memories of one session; memories from no session (Remember, imports) count as one stream. */
function sessionOf(memory: Memory): string {
  return memory.source.sessionId;
}
