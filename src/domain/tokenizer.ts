import {
  clearMergeCache,
  countTokens as countO200k,
  decode,
  encode,
  setMergeCacheSize,
} from "gpt-tokenizer/encoding/o200k_base";
import { timeSlicer } from "./time-slice.js";

/**
 * Token counts for budgets and compaction, by a real BPE tokenizer
 * (o200k_base, the encoding of current OpenAI models) rather than a
 * character heuristic, so a budget means what the LLM gateway will count.
 *
 * Bounded work: BPE merging costs the square of a pre-token's length, and
 * a run without spaces (random letters, emoji, CJK) is one pre-token, so a
 * 64 KB run took a second of event loop. Text is therefore counted in
 * segments of at most `segmentChars` UTF-16 units, cut just before a space
 * that starts a word (o200k starts a pre-token there, so the count is exact)
 * or, inside a longer run, at a code point boundary (the count may then
 * differ by a token per cut, on text no tokenizer reads the same way twice).
 * The work is linear in the length; `countTokensEach` also yields to the
 * event loop between segments, so one large request cannot hold other
 * callers for more than a slice.
 */
export const segmentChars = 128;

// User text may contain special-token spellings such as "<|endoftext|>";
// they are counted as the plain text they are, never rejected.
const asPlainText = { disallowedSpecial: new Set<string>(), allowedSpecial: new Set<string>() };

/**
 * The tokenizer's merge cache (pre-token -> tokens) evicts its oldest entry
 * once full, and eviction in a churning JavaScript Map grows costly: a warm
 * server spent 25-40 s of CPU on an AppendMessages that cost 1 s on a fresh
 * one (measured by a probe, #21). A segment adds at most `segmentChars` entries, so clearing the cache
 * after this many segments keeps it below its size: it never evicts, and
 * what a call costs does not depend on what came before.
 */
export const mergeCacheEntries = 32_768;
export const segmentsPerCacheGeneration = Math.floor(mergeCacheEntries / segmentChars);
let segmentsSinceClear = 0;
// Smaller than the library's 100,000: a third of the memory, and a generation is 32 KiB of text.
setMergeCacheSize(mergeCacheEntries);

function countSegment(segment: string): number {
  if (++segmentsSinceClear >= segmentsPerCacheGeneration) {
    clearMergeCache();
    segmentsSinceClear = 0;
  }
  return countO200k(segment, asPlainText);
}

/** Synchronous count, linear in the text; for short texts (prompts, summaries). */
export function countTokens(text: string): number {
  let total = 0;
  for (const segment of segments(text)) total += countSegment(segment);
  return total;
}

/**
 * Counts of many texts (a request's messages or documents), yielding to the
 * event loop whenever a slice of work is done; stops if `signal` aborts.
 */
export async function countTokensEach(texts: readonly string[], signal?: AbortSignal): Promise<number[]> {
  const counts: number[] = [];
  const pause = timeSlicer(signal);
  for (const text of texts) {
    let total = 0;
    for (const segment of segments(text)) {
      total += countSegment(segment);
      await pause();
    }
    counts.push(total);
  }
  return counts;
}

/** The text cut into segments of at most `segmentChars` units; see the module comment. */
export function* segments(text: string): Generator<string> {
  let start = 0;
  while (text.length - start > segmentChars) {
    const limit = start + segmentChars;
    let cut = lastWordStart(text, start, limit);
    if (cut <= start) {
      cut = limit;
      // Never split a surrogate pair: cut before its high half instead.
      if (isLowSurrogate(text.charCodeAt(cut))) cut--;
    }
    yield text.slice(start, cut);
    start = cut;
  }
  yield text.slice(start);
}

/** The last index in (start, limit] holding a space between two non-space characters, or -1. */
function lastWordStart(text: string, start: number, limit: number): number {
  for (let i = limit; i > start; i--) {
    if (
      text.charCodeAt(i) === 0x20 &&
      !isSpace(text.charCodeAt(i - 1)) &&
      i + 1 < text.length &&
      !isSpace(text.charCodeAt(i + 1))
    ) {
      return i;
    }
  }
  return -1;
}

function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x3000 || code === 0x85;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The longest prefix of `text` within `maxTokens` tokens: a hard cap for what a model returns. */
export function truncateToTokens(text: string, maxTokens: number): string {
  if (countTokens(text) <= maxTokens) return text;
  return decode(encode(text, asPlainText).slice(0, maxTokens)).trimEnd();
}
