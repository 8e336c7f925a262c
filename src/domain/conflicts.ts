import type { MemoryRecord, MemoryType } from "./types.js";

/**
 * What a new memory does to the ones already stored: pure, given the user's
 * most similar memories. Time is when things happened (`occurredAt`, which
 * intake sets to the creation time when the caller gives none), not when
 * Engram heard of them, so a history imported out of order settles as if
 * told in order:
 * - a near-duplicate refreshes the existing memory (`merge`), keeping the
 *   more recent text when it adds detail;
 * - a fact about a subject is updated in place when it is newer (`update`);
 * - a preference or decision about a subject supersedes the older ones
 *   (`supersede`), which stay as history;
 * - an incoming fact, preference or decision older than a current one of its
 *   subject is stored already superseded by it (`superseded`), never current;
 * - events never supersede each other: two bookings both happened.
 */
export type ConflictResolution =
  | { readonly kind: "create" }
  | {
      readonly kind: "merge";
      readonly target: MemoryRecord;
      /** The incoming text replaces the stored one: it is newer and adds words. */
      readonly takeIncomingContent: boolean;
    }
  | { readonly kind: "update"; readonly target: MemoryRecord }
  | { readonly kind: "supersede"; readonly targets: readonly MemoryRecord[] }
  | {
      readonly kind: "superseded";
      /** The current memory that follows the incoming one in time; its occurrence ends the incoming one's validity. */
      readonly successor: MemoryRecord;
    };

/** What settlement needs to know of the incoming memory. */
export interface IncomingMemory {
  readonly type: MemoryType;
  readonly subject: string;
  readonly content: string;
  readonly occurredAt: Date;
}

/**
 * Cosine similarity at or above which two memories of one type may be the
 * same memory; they are when one also says every word of the other (see
 * `isNearDuplicate`).
 */
export const nearDuplicateSimilarity = 0.92;

/**
 * Whether two memories are one: close in meaning, and one of them says
 * everything the other says. Similarity alone says "about the same thing",
 * not "says the same thing": a sentence-embedding model puts "my locker code
 * is 4417" and "… 4418" at 0.97, and "Meeting with Bob on Tuesday" and
 * "… on Friday" at 0.96; merging those would lose the new code or the second
 * meeting. Word containment keeps "Prefers aisle seats" and "The user prefers
 * aisle seats on long flights" one memory (the merge keeps the longer).
 */
export function isNearDuplicate(relevance: number, a: string, b: string): boolean {
  return relevance >= nearDuplicateSimilarity && (!addsWords(a, b) || !addsWords(b, a));
}

export function resolveConflict(
  incoming: IncomingMemory,
  similar: readonly { readonly record: MemoryRecord; readonly relevance: number }[],
): ConflictResolution {
  const live = similar.filter((s) => s.record.type === incoming.type && s.record.supersededBy === undefined);
  const duplicate = live.find((s) => isNearDuplicate(s.relevance, s.record.content, incoming.content));
  if (duplicate) {
    return {
      kind: "merge",
      target: duplicate.record,
      takeIncomingContent: mergedContentIsIncoming(duplicate.record, incoming),
    };
  }
  if (incoming.subject === "" || !supersedes(incoming)) return { kind: "create" };
  const sameSubject = live.filter((s) => s.record.subject === incoming.subject).map((s) => s.record);
  if (sameSubject.length === 0) return { kind: "create" };
  const at = incoming.occurredAt.getTime();
  // Ties go to the incoming memory: told later about the same moment, it is the correction.
  const newer = sameSubject.filter((r) => r.occurredAt.getTime() > at);
  if (newer.length > 0) {
    const successor = newer.reduce((a, b) => (b.occurredAt.getTime() < a.occurredAt.getTime() ? b : a));
    return { kind: "superseded", successor };
  }
  if (incoming.type === "semantic") {
    const newest = sameSubject.reduce((a, b) => (b.occurredAt.getTime() > a.occurredAt.getTime() ? b : a));
    return { kind: "update", target: newest };
  }
  return { kind: "supersede", targets: sameSubject };
}

/**
 * Whether a memory of this kind replaces older ones of its subject:
 * facts and preferences do; of episodic memories only decisions ("I've
 * decided to fly with KLM") do, since events ("I booked a window seat to
 * Paris") all happened and contradict nothing.
 */
export function supersedes(memory: { readonly type: MemoryType; readonly content: string }): boolean {
  return memory.type !== "episodic" || isDecision(memory.content);
}

const decisionWords =
  /\b(decided|decide to|chose|chosen|choosing|going with|go with|went with|settled on|switched|switching|opted|picked)\b/i;

export function isDecision(content: string): boolean {
  return decisionWords.test(content);
}

/**
 * A merge keeps the more recent and more detailed text: the newer of the
 * two when it adds words the older lacks, else the older (which then says
 * at least as much). Without a model, "adds words" is the local measure
 * of detail.
 */
function mergedContentIsIncoming(stored: MemoryRecord, incoming: IncomingMemory): boolean {
  const incomingIsNewer = incoming.occurredAt.getTime() >= stored.occurredAt.getTime();
  return incomingIsNewer
    ? addsWords(incoming.content, stored.content)
    : !addsWords(stored.content, incoming.content) && addsWords(incoming.content, stored.content);
}

/** Whether `text` has a word `than` lacks (case-insensitive). */
export function addsWords(text: string, than: string): boolean {
  const known = new Set(words(than));
  return words(text).some((w) => !known.has(w));
}

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
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
