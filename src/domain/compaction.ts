/**
 * When and how much of a session to compact: a pure decision, tested
 * without I/O. The I/O (summarising, the conditional commit) lives in
 * `short-term-memory.ts`.
 */
export interface CompactionPolicy {
  /** Compact once the session holds more tokens than this. */
  readonly tokenLimit: number;
  /** Keep at most this many recent messages verbatim. */
  readonly keepRecent: number;
}

export interface CompactionCandidate {
  readonly sequence: number;
  readonly tokenCount: number;
}

export interface CompactionPlan {
  /** Fold every message up to and including this sequence. */
  readonly throughSequence: number;
  /** How many messages that is. */
  readonly foldCount: number;
}

/**
 * Chooses the prefix to fold into the summary, or nothing while the session
 * fits. The verbatim tail keeps the newest `keepRecent` messages but no more
 * than half the token limit, so the summary has room and one compaction
 * brings the session back under its limit; the newest message always stays.
 */
export function planCompaction(
  messages: readonly CompactionCandidate[],
  sessionTokens: number,
  policy: CompactionPolicy,
): CompactionPlan | undefined {
  if (sessionTokens <= policy.tokenLimit || messages.length < 2) return undefined;
  const tailBudget = Math.floor(policy.tokenLimit / 2);
  let kept = 0;
  let tailTokens = 0;
  for (let i = messages.length - 1; i >= 0 && kept < policy.keepRecent; i--) {
    const tokens = messages[i]!.tokenCount;
    if (kept > 0 && tailTokens + tokens > tailBudget) break;
    kept++;
    tailTokens += tokens;
  }
  const foldCount = messages.length - kept;
  if (foldCount === 0) return undefined;
  return { throughSequence: messages[foldCount - 1]!.sequence, foldCount };
}
