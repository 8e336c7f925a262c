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
 * utterance (`saidOnce`, and not `retoldSince`). A memory merged from many
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
  const retold = retoldSince(order.map((o) => candidates[o.i]!.memory));
  const lift = new Array<number>(candidates.length).fill(0);
  for (let j = 1; j < order.length; j++) {
    const before = order[j - 1]!;
    const after = order[j]!;
    if (before.session !== after.session || after.at - before.at > windowMs) continue;
    if (retold[j - 1] || retold[j]) continue;
    if (!saidOnce(candidates[before.i]!.memory) || !saidOnce(candidates[after.i]!.memory)) continue;
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
 * For memories in the order they were said, whether each was told again
 * after it was stored (within its session: sessions may be written in any
 * order). Memories are written as they are said (Remember turn
 * by turn, or a session's at its end, with one `createdAt`), so nothing said
 * before a memory is stored after it. An identical retelling merges into
 * the memory, moving its `occurredAt` to the newest telling and recording
 * nothing else; a memory stored before something said before it has been
 * retold since: it stands for several statements. Memories imported out of
 * order look the same, and lose only the lift.
 */
export function retoldSince(said: readonly Memory[]): boolean[] {
  const latestStored = new Map<string, number>();
  return said.map((memory) => {
    const session = sessionOf(memory);
    const stored = memory.createdAt.getTime();
    const before = latestStored.get(session) ?? -Infinity;
    latestStored.set(session, Math.max(before, stored));
    return stored < before;
  });
}

/** Memories of one session; memories from no session (Remember, imports) count as one stream. */
function sessionOf(memory: Memory): string {
  return memory.source.sessionId;
}
