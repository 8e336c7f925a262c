import type { MemoryRecord, MemoryType } from "./types.js";

/**
 * What a new memory does to the ones already stored: pure, given the user's
 * most similar memories. Semantic facts are updated in place, near-duplicates
 * refresh the existing memory, and a newer preference or decision about the
 * same subject supersedes the older ones (kept as history).
 */
export type ConflictResolution =
  | { readonly kind: "create" }
  | { readonly kind: "merge"; readonly target: MemoryRecord }
  | { readonly kind: "update"; readonly target: MemoryRecord }
  | { readonly kind: "supersede"; readonly targets: readonly MemoryRecord[] };

/** Cosine similarity at or above which two memories of one type are the same memory. */
export const nearDuplicateSimilarity = 0.92;

export function resolveConflict(
  incoming: { readonly type: MemoryType; readonly subject: string },
  similar: readonly { readonly record: MemoryRecord; readonly relevance: number }[],
): ConflictResolution {
  const live = similar.filter((s) => s.record.type === incoming.type && s.record.supersededBy === undefined);
  const duplicate = live.find((s) => s.relevance >= nearDuplicateSimilarity);
  if (duplicate) return { kind: "merge", target: duplicate.record };
  if (incoming.subject === "") return { kind: "create" };
  const sameSubject = live.filter((s) => s.record.subject === incoming.subject).map((s) => s.record);
  if (sameSubject.length === 0) return { kind: "create" };
  if (incoming.type === "semantic") {
    const newest = [...sameSubject].sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())[0]!;
    return { kind: "update", target: newest };
  }
  return { kind: "supersede", targets: sameSubject };
}

/**
 * A subject for memories that name none: the category of thing a preference
 * or decision is about, from a small lexicon, so that "I've switched
 * everything to Go" is recognised as replacing "I prefer Python for
 * scripting". Explicit subjects (or a model's) are more precise; this is the
 * rule-based fallback, deliberately narrow to avoid false supersessions.
 */
const glosses: Readonly<Record<string, string>> = {
  "programming-language": "programming language for code, scripts, scripting, tools and software",
  editor: "code editor or IDE for editing text and code",
  "operating-system": "operating system for computers and laptops",
  diet: "diet, food, meals and eating",
  seat: "seat choice on flights, trains and travel",
  units: "units of measurement, temperature and distance",
};

/**
 * Words describing a subject, embedded together with the memory's content
 * ("document expansion"): "I've switched everything to Go" is then found by
 * a request for a script even though it shares no word with it.
 */
export function subjectGloss(subject: string): string {
  return glosses[subject] ?? subject.replace(/[._-]+/g, " ");
}

const lexicon: readonly [subject: string, words: RegExp][] = [
  [
    "programming-language",
    /\b(python|golang|rust|java|javascript|typescript|ruby|c\+\+|c#|kotlin|swift|php|scala|elixir|haskell|perl)\b/i,
  ],
  // "Go" only capitalised: "I go running" is not about a language.
  ["programming-language", /\bGo\b/],
  ["editor", /\b(vim|neovim|emacs|vs ?code|visual studio code|intellij|sublime|nano|zed)\b/i],
  ["operating-system", /\b(linux|ubuntu|debian|fedora|windows|macos|mac os|arch linux)\b/i],
  ["diet", /\b(vegan|vegetarian|pescatarian|keto|gluten[- ]free|omnivore|halal|kosher)\b/i],
  ["seat", /\b(aisle|window|middle) seats?\b/i],
  ["units", /\b(metric|imperial|celsius|fahrenheit)\b/i],
];

export function inferSubject(type: MemoryType, content: string): string {
  if (type === "semantic") return "";
  for (const [subject, words] of lexicon) if (words.test(content)) return subject;
  return "";
}
