import { changeCue } from "./change-statements.js";
import { isChitChat } from "./chit-chat.js";
import { statementSubject } from "./conflicts.js";
import { timeSlicer } from "./time-slice.js";
import type { MemoryType, Role } from "./types.js";

/**
 * The write gate's cheap first pass: rules that settle the clear cases
 * without a model call. Only what they cannot settle ("ambiguous") goes to
 * the classifier, batched per session. Pure and deterministic.
 */
export interface GateCandidate {
  readonly id: string;
  readonly role: Role;
  readonly content: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export type GateVerdict =
  | { readonly action: "store"; readonly type: MemoryType; readonly importance: number; readonly reason: string }
  | { readonly action: "drop"; readonly reason: string }
  | { readonly action: "ambiguous" };

/** What the classifier (local rules or a model) says about an ambiguous candidate. */
export interface GateClassification {
  readonly id: string;
  readonly store: boolean;
  readonly type: MemoryType;
  readonly importance: number;
  readonly reason: string;
}

export interface GateClassifier {
  /** Who decides: a model, or local rules (the decision's `decider`); a model when absent. */
  readonly decider?: "rules" | "model";
  /** One classification per candidate, any order; candidates not answered are dropped. */
  classify(candidates: readonly GateCandidate[], signal?: AbortSignal): Promise<GateClassification[]>;
}

const pleasantryPhrases =
  "hi|hello|hey|hiya|there|thanks|thank you|thx|ty|cheers|ok|okay|k|cool|great|nice|perfect|awesome|sure|yes|yep|" +
  "no|nope|bye|goodbye|see you|good morning|good afternoon|good evening|good night|got it|sounds good|makes sense|" +
  "understood|alright|lol|so much|a lot|again|then";
/** A message made only of pleasantries and acknowledgements ("ok sounds good, thanks!"). */
const pleasantry = new RegExp(`^(?:(?:${pleasantryPhrases})\\b[\\s!.,:;)]*)+$`, "i");
const procedural =
  /\b(step \d+\s*(of|\/)\s*\d+|next step|go on|proceed|retry|try again|done with (this|that) step)\b|^\s*(next|continue|done|skip|again)\b[\s!.]*$/i;
const transientTask =
  /\b(currently|right now|at the moment|in progress|todo|to-do|working on (this|the) task|for this task|draft \d+|this session only)\b/i;
const preference =
  /\b(i (really )?prefer|i'd rather|i would rather|from now on|going forward|i('ve| have)? switched|i('m| am) switching|i moved to|i like|i love|i enjoy|i hate|i dislike|i don't like|i do not like|i always|i never|please always|please never|my favou?rite|i adore|i can't stand|i cannot stand|i detest|i loathe|leave (it|them) out|to me now|i('m| am) (a (big |huge )?)?fan of|i('m| am) into)\b/i;
const fact =
  /\b(my name is|call me|i live in|i('m| am) from|i work (at|as|for|in)|i('m| am) an? |i('m| am) allergic|i have (an? )?(allergy|kid|child|children|dog|cat|partner|wife|husband)|my (birthday|wife|husband|partner|son|daughter|job|role|team|company) is|i speak)\b/i;
/** "my X is Y": a fact about something of the user's (my locker code is 4417, my home airport is LIS). */
const possessionFact = /\bmy(\s+[\p{L}-]+){1,3}\s+(is|are)\s+\S/iu;
/** How the user is now ("I'm a bit tired today"): true for a moment, not a fact about them. */
const transientState =
  /\b(i('m| am)|i feel|i'm feeling|i am feeling|feeling)\b[^.!?]{0,24}\b(tired|sleepy|exhausted|hungry|thirsty|bored|busy|stressed|sick|unwell|cold|hot|late|sad|grumpy|nervous|excited|annoyed|in a hurry)\b/i;
const decision =
  /\b(i('ve| have)? decided|we('ve| have)? decided|let's go with|i'll go with|i('ve| have)? chosen|i chose|i booked|we booked|i signed up|i cancell?ed|i bought)\b/i;

export function gateByRules(candidate: GateCandidate): GateVerdict {
  const { role, content, metadata } = candidate;
  if (role === "system" || role === "tool") return { action: "drop", reason: "not-user-content" };
  if (metadata.confirmed === "false" || metadata.corrected === "true") return { action: "drop", reason: "unconfirmed" };
  if (role === "assistant" && metadata.confirmed !== "true") {
    // An answer the user did not confirm is never stored as a fact.
    return { action: "drop", reason: "unconfirmed" };
  }
  const text = content.trim();
  if (pleasantry.test(text)) return { action: "drop", reason: "pleasantry" };
  if (procedural.test(text) && !preference.test(text)) return { action: "drop", reason: "procedural" };
  if (onlyTransient(text, transientTask) && !preference.test(text) && !fact.test(text)) {
    return { action: "drop", reason: "transient-task-state" };
  }
  if (onlyTransient(text, transientState) && !preference.test(text))
    return { action: "drop", reason: "transient-state" };
  const about = /\?\s*$/.test(text) && !statesBeforeAsking(text) ? undefined : statementSubject(text);
  if (about) {
    // A statement about the user's own world, however short ("I'm vegan", "Standup is at 9:30"): a fact or
    // preference of that subject, and a change of it when it says so ("we relocated to Valencia").
    const change = changeCue(text) !== undefined;
    const importance = about.type === "preference" || change ? 0.7 : 0.6;
    const reason = change ? "change-statement" : about.type === "preference" ? "explicit-preference" : "stated-fact";
    return { action: "store", type: about.type, importance, reason };
  }
  if (preference.test(text))
    return { action: "store", type: "preference", importance: 0.7, reason: "explicit-preference" };
  if (decision.test(text)) return { action: "store", type: "episodic", importance: 0.6, reason: "decision" };
  if (fact.test(text) || possessionFact.test(text)) {
    return { action: "store", type: "semantic", importance: 0.6, reason: "stated-fact" };
  }
  if (/\?\s*$/.test(text) && !statesBeforeAsking(text)) return { action: "drop", reason: "question" };
  const change = changeCue(text);
  // A change of something of the user's with no known subject ("I no longer drink coffee", "actually it's
  // 4418"): kept, so settlement can find what it changes by meaning, at an incidental statement's importance
  // (at 0.6 it outranked answers in bench:recall's write path: R@1 0.486 against 0.528 here).
  if (change && (firstPerson.test(text) || (change === "correction" && /\d|\s\p{Lu}/u.test(text)))) {
    return { action: "store", type: "episodic", importance: incidentalImportance, reason: "change-statement" };
  }
  if (text.split(/\s+/).length < 4) return { action: "drop", reason: "too-short" };
  if (isChitChat(text)) return { action: "drop", reason: "chit-chat" };
  return { action: "ambiguous" };
}

/**
 * A message that only says how the speaker is or what they are busy with
 * now ("I'm a bit tired today"): every sentence of it that states something
 * (four words or more, not a question) says so. "I passed my driving
 * test last Sunday! I'm so excited" is an event told with a feeling:
 * the feeling passes, the event is what a later question asks about (on
 * LoCoMo's dev set such messages were most of the evidence dropped as
 * transient state).
 */
function onlyTransient(text: string, transient: RegExp): boolean {
  if (!transient.test(text)) return false;
  return (text.match(/[^.!?]+[.!?]*/g) ?? []).every(
    (s) => transient.test(s) || /\?\s*$/.test(s) || s.trim().split(/\s+/).length < 4,
  );
}

/**
 * A message that says something before it asks ("I joined an activist group
 * last Tuesday. What have you been up to?"): the statement is what a later
 * question needs, so the trailing question does not make it a question.
 * Found on LoCoMo, where it was the gate's largest loss of answers
 * (docs/recall-quality.md). A statement is a sentence of four words or more
 * not ending in "?" that is not chit-chat: "Oh, Sam, that's lovely! What's
 * your favourite hiking trail?" only asks.
 */
function statesBeforeAsking(text: string): boolean {
  return (text.match(/[^.!?]+[.!?]*/g) ?? []).some(
    (s) => !/\?\s*$/.test(s) && s.trim().split(/\s+/).length >= 4 && !isChitChat(s),
  );
}

/** The speaker talking about themselves or their own. */
const firstPerson = /\b(i|i'm|i've|i'd|i'll|me|my|mine|we|we're|we've|our|ours|us|let's)\b/i;
/**
 * The speaker talking about themselves with the "I" left out, as people do
 * in conversation: "Looking into pottery studios", "Been busy at the
 * workshop", "Glad to be part of the choir", "Can't wait for the trip". A
 * sentence that opens with a verb in -ing (not "nothing", "morning"), or
 * with "been", "just", "glad", "can't wait", "gonna".
 */
const elidedSpeaker =
  /(?:^|[.!?]\s+)(?:been|just|glad|can't wait|cannot wait|gonna|(?!(?:no|some|any|every)thing\b|morning\b|evening\b)\p{L}{2,}ing)\s+\p{L}/iu;
/**
 * The listener, or someone else, by pronoun: in a conversation between
 * people, "You'll be a great teacher", "He had a rough year, moving twice"
 * and "They mostly eat seeds and berries" are about someone's
 * life as much as "I" is.
 */
const otherPerson =
  /\b(you|you're|you've|you'll|you'd|your|yours|yourself|he|he's|him|his|she|she's|her|hers|they|they're|they've|them|their|theirs)\b/i;
/** A name inside a sentence (a person, place or thing the user talks about): "an update on Maya". */
const namedInside = /[\p{Ll}\p{N},:;]\s+\p{Lu}\p{Ll}+/u;

/** A statement about someone: the speaker (said or left out), the listener, someone else, or someone named. */
function aboutSomeone(content: string): boolean {
  const text = content.replace(/[’‘]/g, "'");
  return firstPerson.test(text) || elidedSpeaker.test(text) || otherPerson.test(text) || namedInside.test(text);
}

/** Importance of a statement kept without a rule naming why: forgetting prunes these first if unused. */
export const incidentalImportance = 0.3;

/**
 * Engram's default classifier, with no model: what the rules could not
 * settle has already passed them (no question, pleasantry, task chatter or
 * unconfirmed answer, four words or more). Of that, a statement about the
 * user's own life or about someone or something they name is kept as an
 * episodic memory of low importance ("incidental-statement"): the answers
 * to later questions hide in such turns ("my sister moved to Lisbon", "an
 * update on Maya: she's in Porto now"), dropping them loses nine in ten
 * (bench:recall), and low importance lets forgetting prune what is never
 * used. Impersonal remarks ("the weather has been grey") are dropped. With
 * an OpenAI-compatible endpoint configured, a model decides instead.
 */
export class LocalStatementClassifier implements GateClassifier {
  readonly decider = "rules";

  async classify(candidates: readonly GateCandidate[], signal?: AbortSignal): Promise<GateClassification[]> {
    // A session's batch has no fixed size: in time slices, so other callers run in between.
    const pause = timeSlicer(signal);
    const answers: GateClassification[] = [];
    for (const c of candidates) {
      await pause();
      answers.push(
        aboutSomeone(c.content)
          ? {
              id: c.id,
              store: true,
              type: "episodic",
              importance: incidentalImportance,
              reason: "incidental-statement",
            }
          : { id: c.id, store: false, type: "semantic", importance: 0, reason: "impersonal" },
      );
    }
    return answers;
  }
}
