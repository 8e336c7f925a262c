import type { MemoryType } from "./types.js";

/**
 * Statements that change what was true: "we relocated to Valencia", "I no
 * longer eat meat", "standup moved to 10:00 from next week", "actually it's
 * 4418". Recognised by their wording, with no model; what they change is
 * found by subject (`factSubject`) and by similarity to the current memories
 * (settlement, see conflicts.ts). Pure and deterministic.
 */
export type ChangeKind = "move" | "stop" | "change" | "correction";

const cues: readonly [ChangeKind, RegExp][] = [
  // A correction of one's own earlier words.
  [
    "correction",
    /^\s*(?:oh,?\s+|sorry,?\s+|wait,?\s+|no,?\s+)*(?:actually\b|i meant\b|i mean\b|correction\b|to correct\b|let me correct\b|scratch that\b)|\b(?:i meant|i misspoke|i got (?:that|it) wrong|not \S+,? but)\b/i,
  ],
  [
    "move",
    /\b(?:i|we)(?:'ve| have| had)?\s+(?:just\s+|recently\s+|finally\s+)?(?:moved|relocated)\b|\b(?:i'm|i am|we're|we are)\s+(?:now\s+)?(?:moving|relocating)\b/i,
  ],
  [
    "stop",
    /\b(?:no longer|not any ?more|anymore|any more|stopped|quit|gave up|given up|giving up|left (?:my|the) (?:job|company|team|band|club|group)|dropped)\b/i,
  ],
  // A name must be capitalised, so apart from the case-insensitive patterns: "I left Google".
  ["stop", /\b(?:I|[Ww]e) (?:just )?(?:left|quit) \p{Lu}/u],
  [
    "change",
    /\b(?:moved to|changed to|changed (?:my|our|the)|has changed|have changed|switched|switching|now at|is now|are now|i'm now|i am now|we're now|now (?:i|we)\b|from next (?:week|month|monday|tuesday|wednesday|thursday|friday|year)|starting (?:next|from|on|tomorrow|monday)|from now on|these days|new (?:job|role|address|place|flat|apartment|house|team|company|employer)|got (?:promoted|a new)|(?:is|are) (?:being )?(?:moved|rescheduled|pushed|postponed)|rescheduled|to me now)\b/i,
  ],
];

/**
 * A stop said not to happen ("I won't quit", "I'm not giving up", "never
 * quit"): it says what continues, so it changes nothing. On LoCoMo's dev set
 * encouragement of this kind was the commonest false change: it replaced
 * whatever the speaker had said about the thing they would not give up.
 */
const negatedStop =
  /\b(?:\w+n't|not|never|cannot|wont)\s+(?:\w+\s+){0,2}?(?:quit(?:ting)?|stop(?:ping)?|giv(?:e|ing) up|gave up|given up|drop(?:ping)?)\b/gi;

/**
 * The sentences of a message that state something: a change is told, not
 * asked ("Do you have any more recipes?" stops nothing).
 */
function statedPart(text: string): string {
  return (text.match(/[^.!?]+[.!?]*/g) ?? []).filter((s) => !/\?\s*$/.test(s)).join(" ");
}

/** The kind of change a statement announces, or undefined when it announces none. */
export function changeCue(content: string): ChangeKind | undefined {
  const text = statedPart(content.replace(/[’‘]/g, "'")).replace(negatedStop, " ");
  for (const [kind, pattern] of cues) if (pattern.test(text)) return kind;
  return undefined;
}

/**
 * How many things a text says: its sentences of four words or more (asked
 * or told). A memory that says several things ("I won my fourth tournament
 * on Friday! It was awesome competing... I love it") is not replaced by a
 * change of one of them: replacing it would hide the rest.
 */
export function statementCount(content: string): number {
  return (content.match(/[^.!?]+[.!?]*/g) ?? []).filter((s) => s.trim().split(/\s+/).length >= 4).length;
}

/** Whether a memory says one thing, so that a change of that thing may replace it whole. */
export function saysOneThing(content: string): boolean {
  return statementCount(content) <= 1;
}

/** A subject of the user's world, and whether a statement about it is a fact or a preference. */
export interface FactSubject {
  readonly subject: string;
  readonly type: Exclude<MemoryType, "episodic">;
}

/** Recurring things of a user's week: "standup is at 9:30", "our retro moved to Thursday". */
const scheduleItems =
  "standup|stand-up|standups|meeting|sync|retro|retrospective|1:1|one-on-one|class|lesson|practice|training|rehearsal|appointment|shift|review|demo|planning|check-in|office hours|deadline|gym|yoga|session|call|lunch|dinner|book club|choir|therapy";
const schedule = new RegExp(
  `\\b(${scheduleItems})\\b[^.!?]{0,40}?\\b(?:is|are|starts?|begins?|happens?|moved|moves|changed|changes|has moved|got moved|is moving|rescheduled|shifted|at \\d|on (?:mon|tues|wednes|thurs|fri|satur|sun)day)`,
  "i",
);
const jobs =
  "engineer|developer|programmer|designer|manager|nurse|teacher|doctor|student|lawyer|consultant|analyst|scientist|architect|accountant|writer|chef|lead|director|intern|researcher|founder|cto|ceo|product owner|tester|sre|administrator|editor";

const subjects: readonly [FactSubject, RegExp][] = [
  [
    { subject: "home", type: "semantic" },
    /\b(?:i|we)\s+(?:now\s+|still\s+)?(?:live|lived|living|reside)\s+(?:in|at|near)\b|\b(?:i'm|i am|we're|we are)\s+(?:now\s+)?(?:based|living)\s+in\b|\b(?:i|we)(?:'ve| have| had)?\s+(?:just\s+|recently\s+|finally\s+)?(?:moved|relocated)\b(?!\s+(?:on|past|away from)\b)|\b(?:i'm|i am|we're|we are)\s+(?:now\s+)?(?:moving|relocating)\s+(?:to|house)\b|\bmy (?:home|address|flat|apartment|house) (?:is|was)\b/i,
  ],
  [
    { subject: "workplace", type: "semantic" },
    /\bi\s+(?:now\s+|still\s+)?work(?:ed)?\s+(?:at|for)\b|\bmy (?:company|employer|workplace|office) (?:is|was)\b|\bnew job at\b|\bi (?:left|quit) my job\b/i,
  ],
  // Names must be capitalised, so apart from the case-insensitive patterns: "I joined Globex", "I'm now at Hooli".
  [
    { subject: "workplace", type: "semantic" },
    /\b(?:I|[Ww]e)(?:'ve| have)?\s+(?:just\s+)?joined\s+\p{Lu}|\b(?:I'm|I am)\s+now\s+(?:at|with)\s+\p{Lu}|\bI (?:left|quit) \p{Lu}/u,
  ],
  [
    { subject: "role", type: "semantic" },
    new RegExp(
      `\\bi\\s+(?:now\\s+)?work(?:ed)?\\s+as\\b|\\bmy (?:job|role|title|position) (?:is|was)\\b|\\bpromoted to\\b|\\b(?:i'm|i am)\\s+(?:now\\s+|no longer\\s+|not\\s+)?(?:an?|the)\\s+(?:[\\p{L}-]+\\s+){0,2}(?:${jobs})s?\\b`,
      "iu",
    ),
  ],
  [
    { subject: "relationship", type: "semantic" },
    /\bmy (?:partner|girlfriend|boyfriend|wife|husband|fianc[ée]e?|spouse)\b|\b(?:i'm|i am|we're|we are|i got|we got)\s+(?:now\s+|no longer\s+)?(?:married|engaged|divorced|single|separated|dating)\b/iu,
  ],
  [
    { subject: "diet", type: "preference" },
    /\b(?:vegan|vegetarian|pescatarian|keto|gluten[- ]free|omnivore|halal|kosher)\b|\bi\s+(?:don't |do not |no longer |now |also )?eat (?:meat|fish|dairy|eggs|pork|beef|chicken|sugar|gluten)\b/i,
  ],
];

/**
 * The subject of a statement about the user's own world, from a small
 * lexicon: where they live, where and as what they work, their partner,
 * their diet, and recurring items of their schedule ("schedule:standup").
 * Undefined when it names none of these.
 */
export function factSubject(content: string): FactSubject | undefined {
  const text = content.replace(/[’‘]/g, "'");
  const item = schedule.exec(text);
  if (item)
    return { subject: `schedule:${item[1]!.toLowerCase().replace(/^stand-?ups?$/, "standup")}`, type: "semantic" };
  return subjects.find(([, pattern]) => pattern.test(text))?.[0];
}

/** Words that say nothing about which memory a change is about. */
const generic = new Set(
  (
    "i me my mine we us our ours you your the a an to of in on at for with and or but is are was were be been being am " +
    "it its it's this that these those there here now no not longer anymore any more stopped stop stops quit gave give " +
    "given giving up moved move moving changed change changes switched switch switching actually meant mean correction " +
    "from next week month year really just also still again every day days time times user user's so very do does did " +
    "don't doesn't didn't have has had will would can could should like likes liked love loves use uses used using " +
    "work works worked live lives lived get got going go went new old since starting start then than as by about " +
    "into out over because which who what when where how all some one two leave let make"
  ).split(" "),
);

/** Crude stem: "smoking" and "smoke", "cats" and "cat" share one. */
function stem(word: string): string {
  return word.replace(/(?:ing|ed|es|s|e)$/, "");
}

/** The words that say what a statement is about (not how or when it changed), stemmed. */
export function anchorWords(content: string): Set<string> {
  const words =
    content
      .toLowerCase()
      .replace(/[’‘]/g, "'")
      .match(/[\p{L}][\p{L}'-]*|\d+/gu) ?? [];
  return new Set(words.filter((w) => w.length > 2 && !generic.has(w)).map(stem));
}

/** Whether two statements share a word saying what they are about ("cilantro", "standup", "vim"). */
export function sharesAnchor(a: string, b: string): boolean {
  const anchors = anchorWords(a);
  return [...anchorWords(b)].some((w) => anchors.has(w));
}
