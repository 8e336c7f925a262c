import {
  changeCue,
  factSubject,
  saysOneThing,
  sharesAnchor,
  type ChangeKind,
  type FactSubject,
} from "./change-statements.js";
import { informativeTokens, sameInformation } from "./informative-tokens.js";
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
 * - events never supersede each other: two bookings both happened;
 * - a change statement ("we relocated to Valencia", "I no longer eat meat",
 *   "actually it's 4418") supersedes the current memories it changes, of
 *   any type: those of its subject, and those close in meaning that name
 *   the same thing (see `changeTargets`).
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
  | {
      readonly kind: "supersede";
      readonly targets: readonly MemoryRecord[];
      /**
       * A self-correction's text applied to what it corrects ("My locker code
       * is 4417" + "Actually it's 4418" = "My locker code is 4418"), when the
       * correction alone would not stand on its own; the incoming text otherwise.
       */
      readonly content?: string;
      /** The corrected memory's type and subject, kept with `content`. */
      readonly type?: MemoryType;
      readonly subject?: string;
    }
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
  /** Who said it (a message's name); a statement changes only what the same person said. */
  readonly speaker?: string | undefined;
  /** A model's judgement of what it repeats, refines or contradicts among the user's memories. */
  readonly judged?: { readonly kind: "repeats" | "refines" | "contradicts"; readonly memoryIds: readonly string[] };
}

/**
 * Cosine similarity at or above which two memories of one type may be the
 * same memory when one says every word of the other (see `isNearDuplicate`).
 */
export const nearDuplicateSimilarity = 0.92;

/**
 * Cosine similarity at or above which two memories that carry the same
 * information in other words are one (all-MiniLM-L6-v2, the default
 * embedder: "is written in async Rust" / "runs on async Rust throughout"
 * 0.91, "… the front end of the app" / "… the app's frontend" 0.95,
 * "This service is written in async Rust" / "The service's code base is
 * async Rust throughout" 0.85).
 */
export const paraphraseSimilarity = 0.84;

/**
 * Whether two memories are one: close in meaning, and neither carries an
 * informative token the other lacks (a number, date, time, name, place,
 * person or negation: `informativeTokens`). Similarity alone says "about the
 * same thing", not "says the same thing": a sentence-embedding model puts
 * "my locker code is 4417" and "… 4418" at 0.97, and "Meeting with Bob on
 * Tuesday" and "… on Friday" at 0.96; merging those would lose the new code
 * or the second meeting. When one text also says every word of the other
 * ("Prefers aisle seats" / "The user prefers aisle seats on long flights")
 * a lower bar would do, but the informative tokens must still agree, or the
 * merge would keep only one of two facts.
 */
export function isNearDuplicate(relevance: number, a: string, b: string): boolean {
  if (relevance < paraphraseSimilarity) return false;
  const contained = !addsWords(a, b) || !addsWords(b, a);
  if (contained && relevance >= nearDuplicateSimilarity) return sameNegation(a, b) && !namesDiffer(a, b, true);
  // A paraphrase is one statement said twice. Two messages that each say several things ("I won my first
  // tournament last week - so exciting!" / "I've been preparing for other tournaments, so I've been busy")
  // can be close in meaning and name the same things while saying different ones: merged, one would be lost.
  return saysOneThing(a) && saysOneThing(b) && sameInformation(a, b);
}

function sameNegation(a: string, b: string): boolean {
  return informativeTokens(a).has("negation") === informativeTokens(b).has("negation");
}

/** Whether either text has an informative token the other lacks; with `additive`, only a changed one counts. */
function namesDiffer(a: string, b: string, additive: boolean): boolean {
  const ta = informativeTokens(a);
  const tb = informativeTokens(b);
  const onlyA = [...ta].filter((t) => !tb.has(t));
  const onlyB = [...tb].filter((t) => !ta.has(t));
  // Containment that only adds detail ("… on long flights") loses nothing when merged into the longer text.
  return additive ? onlyA.length > 0 && onlyB.length > 0 : onlyA.length + onlyB.length > 0;
}

export function resolveConflict(
  incoming: IncomingMemory,
  similar: readonly { readonly record: MemoryRecord; readonly relevance: number }[],
): ConflictResolution {
  const current = similar.filter((s) => s.record.supersededBy === undefined);
  const judged = incoming.judged && current.filter((s) => incoming.judged!.memoryIds.includes(s.record.id));
  if (incoming.judged && judged && judged.length > 0) {
    // A model read both: its judgement stands where the rules would guess.
    if (incoming.judged.kind === "contradicts") {
      return replacing(
        incoming,
        judged.map((s) => s.record),
        true,
        false,
      );
    }
    const target = judged[0]!.record;
    return { kind: "merge", target, takeIncomingContent: incoming.judged.kind === "refines" };
  }
  const live = current.filter((s) => s.record.type === incoming.type);
  const duplicate = live.find((s) => isNearDuplicate(s.relevance, s.record.content, incoming.content));
  if (duplicate) {
    return {
      kind: "merge",
      target: duplicate.record,
      takeIncomingContent: mergedContentIsIncoming(duplicate.record, incoming),
    };
  }
  const cue = changeCue(incoming.content);
  // Maya's move does not change where Tomas lives: only the same speaker's memories are replaced.
  const own = current.filter((s) => (s.record.speaker ?? "") === (incoming.speaker ?? ""));
  if (cue) {
    // A change that finds nothing it changes is new ("I stopped using Emacs" leaves "I use Vim" current).
    const changed = changeTargets(incoming, cue, own);
    return changed.length > 0 ? replacing(incoming, changed, true, cue === "correction") : { kind: "create" };
  }
  // Two meetings at two times may both be true: a schedule item changes only when told it changed.
  if (incoming.subject === "" || incoming.subject.startsWith("schedule:") || !supersedes(incoming)) {
    return { kind: "create" };
  }
  // A memory that says several things is not replaced by a newer one of one of them: it would hide the rest.
  const sameSubject = own
    .filter(
      (s) =>
        s.record.type === incoming.type && subjectOf(s.record) === incoming.subject && saysOneThing(s.record.content),
    )
    .map((s) => s.record);
  if (sameSubject.length === 0) return { kind: "create" };
  return replacing(incoming, sameSubject, false, false);
}

/**
 * What `incoming` does to the current memories it replaces: by time, as
 * everywhere (an older statement is stored as history); a fact is updated in
 * place unless a change statement replaces it (it then stays beside the new
 * memory, superseded, so the reply names it).
 */
function replacing(
  incoming: IncomingMemory,
  targets: readonly MemoryRecord[],
  changeStatement: boolean,
  correction: boolean,
): ConflictResolution {
  const at = incoming.occurredAt.getTime();
  // Ties go to the incoming memory: told later about the same moment, it is the correction.
  const newer = targets.filter((r) => r.occurredAt.getTime() > at);
  if (newer.length > 0) {
    const successor = newer.reduce((a, b) => (b.occurredAt.getTime() < a.occurredAt.getTime() ? b : a));
    return { kind: "superseded", successor };
  }
  if (incoming.type === "semantic" && !changeStatement) {
    const newest = targets.reduce((a, b) => (b.occurredAt.getTime() > a.occurredAt.getTime() ? b : a));
    return { kind: "update", target: newest };
  }
  const corrected =
    correction && targets.length === 1 ? correctedText(targets[0]!.content, incoming.content) : undefined;
  return corrected
    ? { kind: "supersede", targets, content: corrected, type: targets[0]!.type, subject: targets[0]!.subject }
    : { kind: "supersede", targets };
}

/** Cosine similarity above which a change statement naming the same thing as a memory changes it. */
export const changeSimilarity = 0.5;
/** Below this, a self-correction is not about the memory at all (all-MiniLM-L6-v2: "My locker code is 4417" / "Actually it's 4418" 0.51). */
export const correctionSimilarity = 0.45;

/**
 * The current memories a change statement changes, of the kinds that hold
 * state (facts, preferences, decisions; never events, see below):
 * - a move or change: the memories of its subject ("We relocated to Valencia"
 *   and "I live in Madrid" are both about home);
 * - any change: the memories close in meaning that name the same thing
 *   ("Cilantro tastes like soap to me now" and "I adore cilantro");
 * - a stop names what stopped, so only that ("I stopped using Emacs" leaves
 *   "I use Vim" alone, though both are about the editor);
 * - a self-correction with neither: the one most similar memory, when the
 *   correction brings a token of the kind that memory holds ("Actually it's
 *   4418" for "My locker code is 4417").
 * A deliberate bias: missing a change leaves two current memories (both
 * recalled); a wrong target hides a true one.
 */
export function changeTargets(
  incoming: IncomingMemory,
  cue: ChangeKind,
  current: readonly { readonly record: MemoryRecord; readonly relevance: number }[],
): MemoryRecord[] {
  const bySubject = (r: MemoryRecord) => cue !== "stop" && incoming.subject !== "" && subjectOf(r) === incoming.subject;
  const byMeaning = (s: { record: MemoryRecord; relevance: number }) =>
    s.relevance >= changeSimilarity && sharesAnchor(s.record.content, incoming.content);
  // Events stay true whatever changes later ("I went to a pride parade" is not undone by "I moved"): only
  // state is replaced: facts, preferences, decisions and habits. Replacing episodes hid the evidence of one in
  // six questions on a real conversation set (LoCoMo dev: recall@10 0.717 -> 0.633, docs/recall-quality.md).
  const state = current.filter((s) => supersedes(s.record) || isHabit(s.record.content));
  // Only a memory that says one thing is replaced whole: "I won my fourth tournament on Friday! ... I love it"
  // stays current after "now I make a living from gaming" (replacing it hid the tournament; LoCoMo dev).
  const replaceable = state.filter((s) => saysOneThing(s.record.content));
  const targets = replaceable.filter((s) => bySubject(s.record) || byMeaning(s)).map((s) => s.record);
  if (targets.length > 0 || cue !== "correction") return targets;
  // A correction applied word for word keeps everything the memory said: it may correct a longer one.
  const best = state.reduce<(typeof current)[number] | undefined>(
    (a, b) => (a === undefined || b.relevance > a.relevance ? b : a),
    undefined,
  );
  return best && best.relevance >= correctionSimilarity && correctedText(best.record.content, incoming.content)
    ? [best.record]
    : [];
}

/**
 * A self-correction applied to the text it corrects, or undefined when it
 * cannot be applied word for word: "I meant Lisbon, not Porto" replaces
 * Porto; "Actually it's 4418" replaces the one number in "My locker code is
 * 4417". Only informative tokens (numbers, names, days) are replaced.
 */
export function correctedText(original: string, correction: string): string | undefined {
  const negated = /\bnot\s+([\p{L}\p{N}][\p{L}\p{N}:.'-]*)/iu.exec(correction)?.[1]?.replace(/[.]$/, "");
  const inCorrection = informativeTokens(correction);
  const inOriginal = informativeTokens(original);
  const added = [...inCorrection].filter((t) => t !== "negation" && t !== negated?.toLowerCase() && !inOriginal.has(t));
  if (added.length !== 1) return undefined;
  const replacement = exactly(correction, added[0]!);
  const candidates = negated
    ? [negated.toLowerCase()].filter((t) => inOriginal.has(t))
    : [...inOriginal].filter((t) => t !== "negation" && kind(t) === kind(added[0]!) && !inCorrection.has(t));
  if (candidates.length !== 1 || replacement === undefined) return undefined;
  const old = candidates[0]!;
  const escaped = old.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, "iu");
  return pattern.test(original) ? original.replace(pattern, replacement) : undefined;
}

/** A token as the text writes it (its case). */
function exactly(text: string, token: string): string | undefined {
  const at = text.toLowerCase().indexOf(token);
  return at < 0 ? undefined : text.slice(at, at + token.length);
}

function kind(token: string): "number" | "word" {
  return /^\d/.test(token) ? "number" : "word";
}

/** A habit is state even when kept as an episode ("I drink coffee every morning"): a change can end it. */
const habitWords =
  /\b(every|each (day|morning|evening|night|week)|usually|always|daily|weekly|nightly|most (days|mornings|evenings|nights))\b/i;

export function isHabit(content: string): boolean {
  return habitWords.test(content);
}

/** A memory's subject: the one it was stored with, else the one its text names (memories stored before subjects were inferred). */
function subjectOf(record: MemoryRecord): string {
  return record.subject || inferSubject(record.type, record.content);
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
 * A merge keeps the more detailed text: when one says every word of the
 * other, the longer (the newer on a tie); when they are paraphrases (each
 * has words the other lacks, the same informative tokens), the one with more
 * words, the newer on a tie. Without a model, words are the local measure of
 * detail.
 */
function mergedContentIsIncoming(stored: MemoryRecord, incoming: IncomingMemory): boolean {
  const incomingIsNewer = incoming.occurredAt.getTime() >= stored.occurredAt.getTime();
  const incomingAdds = addsWords(incoming.content, stored.content);
  const storedAdds = addsWords(stored.content, incoming.content);
  if (incomingAdds && storedAdds) {
    const [a, b] = [words(incoming.content).length, words(stored.content).length];
    return a > b || (a === b && incomingIsNewer);
  }
  return incomingIsNewer ? incomingAdds : !storedAdds && incomingAdds;
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
  return glosses[subject] ?? subject.replace(/[._:-]+/g, " ");
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
 * The subject a memory is about (`statementSubject`: a tool or taste, or a
 * subject of the user's world such as home or a schedule item), or "" when it
 * names none clearly; the same for every type. Deliberately narrow: a wrong
 * subject makes an unrelated memory supersede (hide) a correct one, which is
 * worse than missing a real conflict (both then stay current and both are
 * recalled).
 */
export function inferSubject(_type: MemoryType, content: string): string {
  return statementSubject(content)?.subject ?? "";
}

/**
 * The subject of the user's world a statement is about, and whether it is a
 * fact or a preference: the tools and tastes lexicon first ("I moved to Vim"
 * is about the editor, not home), then `factSubject` (home, workplace, role,
 * relationship, diet, schedule items). A schedule item is the user's own
 * ("Standup is at 9:30" said by them); everything else must be about the
 * speaker.
 */
export function statementSubject(content: string): FactSubject | undefined {
  if (aboutTheSpeaker.test(content)) {
    for (const { subject, words, context } of lexicon) {
      if (words.test(content) && (context === undefined || context.test(content)))
        return { subject, type: "preference" };
    }
  }
  const fact = factSubject(content);
  return fact && (fact.subject.startsWith("schedule:") || aboutTheSpeaker.test(content)) ? fact : undefined;
}
