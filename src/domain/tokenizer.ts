import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base";

/**
 * Token counts for budgets and compaction, by a real BPE tokenizer
 * (o200k_base, the encoding of current OpenAI models) rather than a
 * character heuristic, so a budget means what the LLM gateway will count.
 */

// User text may contain special-token spellings such as "<|endoftext|>";
// they are counted as the plain text they are, never rejected.
const asPlainText = { disallowedSpecial: new Set<string>(), allowedSpecial: new Set<string>() };

export function countTokens(text: string): number {
  return countO200k(text, asPlainText);
}
