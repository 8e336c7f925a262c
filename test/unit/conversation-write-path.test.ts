import { describe, expect, it } from "vitest";
import { changeCue, saysOneThing, statementCount } from "../../src/domain/change-statements.js";
import { isChitChat } from "../../src/domain/chit-chat.js";
import { inferSubject, isNearDuplicate, resolveConflict } from "../../src/domain/conflicts.js";
import { informativeTokens } from "../../src/domain/informative-tokens.js";
import type { MemoryType } from "../../src/domain/types.js";
import { gateByRules, LocalStatementClassifier } from "../../src/domain/write-gate.js";
import { memoryRecord } from "../support/memory-fixtures.js";

/**
 * The write path on conversations between two people (docs/recall-quality.md,
 * "What the write path keeps"): drop fewer answers, not more noise. Each
 * case is the shape of a turn that states something about someone's life,
 * against the chit-chat around it.
 */
const scope = { namespace: "n", userId: "u" };
const day = (d: number) => new Date(Date.UTC(2026, 4, d));
const gate = (content: string) => gateByRules({ id: "0", role: "user", content, metadata: {} });
const classify = async (content: string) =>
  (await new LocalStatementClassifier().classify([{ id: "m", role: "user", content, metadata: {} }]))[0]!;
const incoming = (type: MemoryType, content: string, occurredAt = day(10)) => ({
  type,
  content,
  subject: inferSubject(type, content),
  occurredAt,
});
const stored = (content: string, type: MemoryType = "semantic") =>
  memoryRecord(scope, content, { type, subject: inferSubject(type, content), occurredAt: day(1) });

describe("chit-chat: nothing left once the words of replies and the addressee are set aside", () => {
  it.each([
    "Thanks, Priya! Your kind words mean so much to me.",
    "Wow, that sounds amazing! Keep it up!",
    "Hi Dana, I'm really glad we always have each other.",
    "Thanks! Talk to you later!",
  ])("%j is chit-chat", (text) => {
    expect(isChitChat(text)).toBe(true);
  });

  it.each([
    "Thanks, Maria! I started a pottery class last week.",
    "Thanks! There were 7 people at the party.",
    "Wow! I met Bob at the festival.",
    "The weather has been so grey lately.",
  ])("%j is not", (text) => {
    expect(isChitChat(text)).toBe(false);
  });

  it("is dropped by the gate, as chit-chat", () => {
    expect(gate("Thanks, Priya! Your kind words mean so much to me.")).toEqual({ action: "drop", reason: "chit-chat" });
  });

  it("a reaction before a question does not make it a statement", () => {
    expect(gate("Oh, Sam, that's lovely! What's your favourite hiking trail?")).toEqual({
      action: "drop",
      reason: "question",
    });
    expect(gate("I just joined a pottery class last Tuesday. What have you been up to?")).toEqual({
      action: "ambiguous",
    });
  });
});

describe("transient state is a whole message about how the speaker is now", () => {
  it.each([
    ["I'm a bit tired today", "transient-state"],
    ["I'm so tired. Long day.", "transient-state"],
    ["I'm currently working on this task, draft 2 is open", "transient-task-state"],
  ])("%j is dropped (%s)", (text, reason) => {
    expect(gate(text)).toEqual({ action: "drop", reason });
  });

  it("an event told with a feeling is kept: the feeling passes, the event does not", () => {
    expect(gate("Yay! I passed my driving test last Sunday! I'm so excited.").action).not.toBe("drop");
    expect(gate("Yep! I'm currently learning the cello. I highly recommend it to anyone.").action).not.toBe("drop");
  });
});

describe("the local classifier keeps statements about someone, said or left out", () => {
  it.each([
    "You'll be a great teacher, helping all those students.",
    "He had a rough year, moving twice and changing schools.",
    "They mostly eat seeds, berries and small worms.",
    "Looking into pottery studios — it's been a dream to have my own kiln.",
    "Glad to be part of the community choir.",
    "Let's try the new noodle place downtown on Saturday!",
  ])("keeps %j", async (text) => {
    expect(await classify(text)).toMatchObject({ store: true, reason: "incidental-statement" });
  });

  it.each(["The weather has been so grey lately.", "The quarterly report covers revenue in three regions"])(
    "still drops %j as impersonal",
    async (text) => {
      expect(await classify(text)).toMatchObject({ store: false, reason: "impersonal" });
    },
  );
});

describe("a change is told, not asked, and a stop said not to happen changes nothing", () => {
  it.each([
    "Thanks, Leo! I won't quit - you keep me going!",
    "I'm not giving up on the violin.",
    "I'll keep practising and never quit.",
    "Do you have any more book suggestions?",
  ])("%j is no change", (text) => {
    expect(changeCue(text)).toBeUndefined();
  });

  it.each([
    ["I quit my job at the bank.", "stop"],
    ["I no longer eat meat. Do you?", "stop"],
  ])("%j is still a %s", (text, kind) => {
    expect(changeCue(text)).toBe(kind);
  });
});

describe("a memory that says several things is not replaced by a change of one of them", () => {
  it("counts the statements of a text (sentences of four words or more)", () => {
    expect(saysOneThing("I adore cilantro.")).toBe(true);
    expect(statementCount("Thanks, Maria! I like to watch the sunset.")).toBe(1);
    expect(statementCount("I ran my third half marathon on Sunday! It was great fun racing. I love it so much.")).toBe(
      3,
    );
  });

  it("a change replaces a memory that says one thing, and leaves one that says several current", () => {
    const one = stored("I adore cilantro.", "preference");
    expect(
      resolveConflict(incoming("preference", "Cilantro tastes like soap to me now."), [
        { record: one, relevance: 0.68 },
      ]),
    ).toMatchObject({ kind: "supersede", targets: [one] });
    const several = stored(
      "I ran my third half marathon on Sunday! It was great fun racing. I love running so much.",
      "preference",
    );
    expect(
      resolveConflict(incoming("episodic", "Running has changed my life and now I'm able to coach others at it."), [
        { record: several, relevance: 0.6 },
      ]),
    ).toEqual({ kind: "create" });
  });

  it("a correction applied word for word may still correct a longer memory: nothing it said is lost", () => {
    const locker = stored("My locker code is 4417. It is on the second floor.");
    expect(
      resolveConflict(incoming("episodic", "Actually it's 4418."), [{ record: locker, relevance: 0.5 }]),
    ).toMatchObject({
      kind: "supersede",
      targets: [locker],
      content: "My locker code is 4418. It is on the second floor.",
    });
  });
});

describe("paraphrases merge only when each says one thing and no number differs, in digits or words", () => {
  it("two messages that each say several things are not merged as paraphrases", () => {
    expect(
      isNearDuplicate(
        0.86,
        "Hi Omar! That's neat! I ran my first trail race last weekend - so exciting!",
        "Thanks, Omar! I've been having a blast and training for other races. I'm loving every bit of it.",
      ),
    ).toBe(false);
    expect(isNearDuplicate(0.9, "My dentist appointment is on Monday", "I have a dentist appointment Monday")).toBe(
      true,
    );
  });

  it("numbers in words are informative", () => {
    expect([...informativeTokens("I started playing guitar five years ago, my first instrument")].sort()).toEqual([
      "first",
      "five",
    ]);
    expect(isNearDuplicate(0.95, "I won my first tournament", "I won my fourth tournament")).toBe(false);
  });
});
