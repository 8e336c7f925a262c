import { readFile } from "node:fs/promises";
import { monthNames } from "../../src/domain/query-period.js";
import type { Conversation, Dataset, Question, Turn } from "./dataset.js";

/**
 * Reads a file in LoCoMo's format (Maharana et al., ACL 2024) into the
 * bench's dataset: each conversation's turns, in order, with the speaker's
 * name and the session's date, and the questions of categories 1-4 with the
 * turns that answer them. Scoring follows the dev set's README: category 5
 * (adversarial, no answer) is left out; evidence ids are normalised
 * ("D:1:3" is "D1:3", "D1:3; D1:5" is two ids) and ids naming no turn are
 * dropped; a turn that shares an image carries its caption.
 */
export const categories: Readonly<Record<number, string>> = {
  1: "multi-hop",
  2: "temporal",
  3: "open-domain",
  4: "single-hop",
};

interface LocomoTurn {
  readonly speaker: string;
  readonly dia_id: string;
  readonly text: string;
  readonly blip_caption?: string;
}

interface LocomoSample {
  readonly sample_id: string;
  readonly conversation: Record<string, unknown> & { speaker_a: string; speaker_b: string };
  readonly qa: readonly { question: string; evidence?: readonly string[]; category: number }[];
}

export async function loadLocomo(path: string, limit?: number): Promise<Dataset> {
  const samples = JSON.parse(await readFile(path, "utf8")) as LocomoSample[];
  const conversations: Conversation[] = [];
  const questions: Question[] = [];
  for (const [index, sample] of samples.slice(0, limit ?? samples.length).entries()) {
    const turns: Turn[] = [];
    const sessions = Object.keys(sample.conversation)
      .map((key) => /^session_(\d+)$/.exec(key)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const session of sessions) {
      const started = sessionDate(String(sample.conversation[`session_${session}_date_time`] ?? ""));
      const lines = sample.conversation[`session_${session}`] as LocomoTurn[];
      lines.forEach((line, i) => {
        turns.push({
          id: line.dia_id,
          session,
          // Both speakers are people talking about their own lives: both are "user" content to Engram.
          role: "user",
          speaker: line.speaker,
          content: line.blip_caption ? `${line.text} [shared image: ${line.blip_caption}]` : line.text,
          occurredAt: new Date(started.getTime() + i * 30_000),
        });
      });
    }
    conversations.push({ index, user: sample.conversation.speaker_a, assistant: sample.conversation.speaker_b, turns });
    const known = new Set(turns.map((t) => t.id));
    sample.qa.forEach((qa, q) => {
      const category = categories[qa.category];
      if (category === undefined) return;
      const evidence = [...new Set((qa.evidence ?? []).flatMap(evidenceIds))].filter((id) => known.has(id));
      if (evidence.length === 0) return;
      questions.push({
        id: `${sample.sample_id}-q${q}`,
        conversation: index,
        text: qa.question,
        evidence,
        kind: category,
        corrected: false,
      });
    });
  }
  return { seed: 0, conversations, questions };
}

/** "D1:3", "D:1:3", "D1:3; D1:5" → ["D1:3"], ["D1:3"], ["D1:3", "D1:5"]. */
export function evidenceIds(raw: string): string[] {
  return raw
    .split(/[;,\s]+/)
    .map((id) => /^D:?(\d+):(\d+)$/.exec(id.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `D${m[1]}:${m[2]}`);
}

/** "1:56 pm on 8 May, 2023" as UTC; the epoch when it cannot be read. */
export function sessionDate(text: string): Date {
  const m = /(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+(\w+),?\s+(\d{4})/i.exec(text);
  if (!m) return new Date(0);
  const month = monthNames.indexOf(m[5]!.toLowerCase());
  const hour = (Number(m[1]) % 12) + (m[3]!.toLowerCase() === "pm" ? 12 : 0);
  return new Date(Date.UTC(Number(m[6]), Math.max(0, month), Number(m[4]), hour, Number(m[2])));
}
