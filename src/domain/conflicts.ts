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

/**
 * One way of naming a subject: `words` name it; when those words also have
 * everyday meanings ("Go for it", "a sublime evening", "clean the windows",
 * "30 celsius today"), `context` must match too.
 */
interface LexiconEntry {
  readonly subject: string;
  readonly words: RegExp;
  readonly context?: RegExp;
}

const codeContext =
  /\b(code|coding|coded|program(s|ming|mer)?|script(s|ing)?|language|develop(er|ers|ment)?|software|services?|backend|frontend|compiler|librar(y|ies)|apps?|rewr(ite|ote|itten)|engineer(s|ing)?|stack|projects?|repos?|tools?|cli)\b/i;

const lexicon: readonly LexiconEntry[] = [
  { subject: "programming-language", words: /\b(golang|javascript|typescript|kotlin|c\+\+|c#|haskell|php)\b/i },
  // Also words for snakes, rust on a bike, coffee, gems, singers and potions: only with talk of code.
  {
    subject: "programming-language",
    words: /\b(python|rust|java|ruby|swift|perl|scala|elixir)\b/i,
    context: codeContext,
  },
  // "Go" only capitalised and not as a verb: "Go for it!", "Go ahead" and a
  // sentence that starts with "Go" are imperatives; code talk settles the rest.
  {
    subject: "programming-language",
    words: /(?<![.!?]\s*|^\s*)\bGo\b(?!\s+(for|ahead|on|away|home|back|out|to|with|and|get|see|check|figure|team)\b)/,
  },
  { subject: "programming-language", words: /\bGo\b/, context: codeContext },
  { subject: "editor", words: /\b(vim|neovim|emacs|vs ?code|visual studio code|intellij)\b/i },
  {
    subject: "editor",
    words: /\b(sublime|nano|zed|atom)\b/i,
    context: /\b(editor|ide|editing|code|coding|plugins?|keybindings|text files?)\b/i,
  },
  { subject: "operating-system", words: /\b(linux|ubuntu|debian|fedora|macos|mac os|arch linux)\b/i },
  {
    subject: "operating-system",
    words: /\bwindows\b/i,
    context: /\b(laptop|computer|pc|desktop|os|operating system|install(ed)?|machine|boot|dual|microsoft|\d+)\b/i,
  },
  { subject: "diet", words: /\b(vegan|vegetarian|pescatarian|keto|gluten[- ]free|omnivore|halal|kosher)\b/i },
  { subject: "seat", words: /\b(aisle|window|middle) seats?\b/i },
  { subject: "units", words: /\b(metric|imperial|celsius|fahrenheit)\b/i },
];

/**
 * The speaker talking about themselves or asking for something: a subject
 * is only a preference or decision of the user's when it is theirs ("my
 * sister is vegan" is not "I am vegan", "it's 30 celsius" prefers nothing).
 */
const aboutTheSpeaker = /\b(i|i'm|i've|i'd|i'll|me|my|mine|we|we're|we've|our|us|please)\b/i;

/**
 * The subject a preference or decision is about, or "" when it names none
 * clearly. Deliberately narrow: a wrong subject makes an unrelated memory
 * supersede (hide) a correct one, which is worse than missing a real
 * conflict (both then stay current and both are recalled).
 */
export function inferSubject(type: MemoryType, content: string): string {
  if (type === "semantic" || !aboutTheSpeaker.test(content)) return "";
  for (const { subject, words, context } of lexicon) {
    if (words.test(content) && (context === undefined || context.test(content))) return subject;
  }
  return "";
}
