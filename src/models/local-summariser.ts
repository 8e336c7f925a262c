import { timeSlicer } from "../domain/time-slice.js";
import { countTokensEach } from "../domain/tokenizer.js";
import type { Summariser, SummaryLine } from "../domain/models.js";
import { tokenize } from "./local-embedder.js";

/**
 * An extractive summariser that needs no model. Each folded message
 * contributes its most informative sentence as a "role: sentence" line;
 * the previous summary's lines are carried over. When the result exceeds
 * the token target, the least informative lines go first (carried-over
 * lines before new ones at equal information), and the survivors keep
 * their order. Deterministic, so compaction is reproducible in tests.
 */
export class LocalSummariser implements Summariser {
  async summarise(
    previous: string,
    lines: readonly SummaryLine[],
    maxTokens: number,
    signal?: AbortSignal,
  ): Promise<string> {
    const carried = previous
      .split("\n")
      .filter((l) => l.startsWith("- "))
      .map((l) => l.slice(2));
    // A compaction may fold hundreds of 32 KiB messages: picking their sentences took half a
    // second of event loop in one piece (#21), so the work yields between messages and lines.
    const pause = timeSlicer(signal);
    const fresh: string[] = [];
    for (const l of lines) {
      await pause();
      fresh.push(`${l.role}: ${mostInformativeSentence(l.content)}`);
    }
    const all = [...carried, ...fresh];
    const frequency = new Map<string, number>();
    for (const text of all) {
      await pause();
      countDocument(frequency, text);
    }
    const weights = inverseFrequencies(frequency, all.length);
    const header = "Summary of the earlier conversation:";
    const [headerTokens, ...lineTokens] = await countTokensEach([header, ...all.map((text) => `- ${text}\n`)], signal);
    const scored: { text: string; index: number; tokens: number; value: number }[] = [];
    for (const [index, text] of all.entries()) {
      await pause();
      scored.push({
        text,
        index,
        tokens: lineTokens[index]!,
        // Favour rarer words per token, and newer lines slightly.
        value: information(text, weights) + index / (all.length * 10),
      });
    }
    let budget = maxTokens - headerTokens!;
    const kept = new Set<number>();
    for (const line of [...scored].sort((a, b) => b.value - a.value)) {
      if (line.tokens <= budget) {
        kept.add(line.index);
        budget -= line.tokens;
      }
    }
    const body = scored.filter((l) => kept.has(l.index)).map((l) => `- ${l.text}`);
    return [header, ...body].join("\n");
  }
}

const maxSentenceWords = 40;
const maxLineChars = 400;

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function mostInformativeSentence(content: string): string {
  const sentences = content
    .replace(/\s+/g, " ")
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (sentences.length === 0) return "";
  const frequency = new Map<string, number>();
  for (const sentence of sentences) countDocument(frequency, sentence);
  const weights = inverseFrequencies(frequency, sentences.length);
  let best = sentences[0]!;
  let bestValue = -Infinity;
  for (const sentence of sentences) {
    const value = information(sentence, weights);
    if (value > bestValue) {
      best = sentence;
      bestValue = value;
    }
  }
  const words = best.split(" ");
  const line = words.length > maxSentenceWords ? `${words.slice(0, maxSentenceWords).join(" ")}…` : best;
  // A "word" may be a 32 KB run without spaces; a summary line never needs that much.
  if (line.length <= maxLineChars) return line;
  const cut = isLowSurrogate(line.charCodeAt(maxLineChars)) ? maxLineChars - 1 : maxLineChars;
  return `${line.slice(0, cut)}…`;
}

/** Adds one text to `frequency`: in how many texts each word appears. */
function countDocument(frequency: Map<string, number>, text: string): void {
  for (const word of new Set(tokenize(text))) frequency.set(word, (frequency.get(word) ?? 0) + 1);
}

function inverseFrequencies(frequency: ReadonlyMap<string, number>, texts: number): Map<string, number> {
  const weights = new Map<string, number>();
  for (const [word, df] of frequency) weights.set(word, Math.log(1 + texts / df));
  return weights;
}

function information(text: string, weights: ReadonlyMap<string, number>): number {
  const words = tokenize(text);
  if (words.length === 0) return 0;
  let sum = 0;
  for (const word of new Set(words)) sum += weights.get(word) ?? 0;
  return sum / Math.sqrt(words.length);
}
