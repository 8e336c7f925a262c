import { describe, expect, it } from "vitest";
import { randomWords } from "../support/adversarial-texts.js";
import { countEventLoopTurns } from "../support/event-loop-turns.js";
import {
  gateByRules,
  incidentalImportance,
  LocalStatementClassifier,
  type GateCandidate,
} from "../../src/domain/write-gate.js";

const user = (content: string, metadata: Record<string, string> = {}): GateCandidate => ({
  id: "m",
  role: "user",
  content,
  metadata,
});

describe("gateByRules", () => {
  it.each([
    ["thanks!", "pleasantry"],
    ["Hello there", "pleasantry"],
    ["ok sounds good", "pleasantry"],
    ["Step 3 of 7: copy the config file", "procedural"],
    ["I'm currently working on this task, draft 2 is open", "transient-task-state"],
    ["What time is it in Tokyo?", "question"],
    ["maybe later", "too-short"],
    ["I'm a bit tired today", "transient-state"],
    ["I feel really stressed", "transient-state"],
    ["Oh nice! What got you into rowing?", "question"],
    ["Nope. What was it about? What made it so special?", "question"],
  ])("drops %j as %s", (content, reason) => {
    expect(gateByRules(user(content))).toEqual({ action: "drop", reason });
  });

  it("does not drop a statement as a question because it ends by asking one", () => {
    const told = "I just joined a new activist group last Tuesday. What have you been up to?";
    expect(gateByRules(user(told))).toEqual({ action: "ambiguous" });
  });

  it.each([
    ["I prefer Python for scripting tasks", "preference"],
    ["From now on, answer in British English", "preference"],
    ["I've switched everything to Go", "preference"],
    ["My name is Ana and I live in Lisbon", "semantic"],
    ["I'm allergic to peanuts", "semantic"],
    ["I decided to take the 8am train", "episodic"],
    ["my locker code is 4417", "semantic"],
    ["My home airport is Lisbon", "semantic"],
  ])("keeps %j as %s", (content, type) => {
    expect(gateByRules(user(content))).toMatchObject({ action: "store", type });
  });

  it("never stores an assistant answer the user did not confirm", () => {
    const answer = {
      id: "a",
      role: "assistant" as const,
      content: "Your flight leaves at 8am from gate 12.",
      metadata: {},
    };
    expect(gateByRules(answer)).toEqual({ action: "drop", reason: "unconfirmed" });
    expect(gateByRules({ ...answer, metadata: { confirmed: "true" } }).action).not.toBe("drop");
  });

  it("drops what the user corrected or marked unconfirmed", () => {
    expect(gateByRules(user("I prefer tea", { corrected: "true" }))).toEqual({ action: "drop", reason: "unconfirmed" });
    expect(gateByRules(user("I prefer tea", { confirmed: "false" }))).toEqual({
      action: "drop",
      reason: "unconfirmed",
    });
  });

  it("ignores system and tool messages", () => {
    expect(gateByRules({ id: "s", role: "tool", content: "I prefer JSON output", metadata: {} })).toEqual({
      action: "drop",
      reason: "not-user-content",
    });
  });

  it("leaves the rest to the classifier", () => {
    expect(gateByRules(user("The quarterly report covers revenue in three regions"))).toEqual({ action: "ambiguous" });
  });
});

describe("LocalStatementClassifier (the default with no model)", () => {
  const classify = async (content: string) =>
    (await new LocalStatementClassifier().classify([{ id: "m", role: "user", content, metadata: {} }]))[0]!;

  it("keeps a statement about the user's life or naming someone, at low importance, as decided by rules", async () => {
    for (const content of [
      "My sister just moved to Lisbon for a new job",
      "Quick update on Maya: the job fell through and she went to Porto",
      "Twice a week after work we have dance classes",
    ]) {
      expect(await classify(content)).toEqual({
        id: "m",
        store: true,
        type: "episodic",
        importance: incidentalImportance,
        reason: "incidental-statement",
      });
    }
    expect(new LocalStatementClassifier().decider).toBe("rules");
  });

  it("lets other callers run while it classifies a large batch, and stops when its caller goes away", async () => {
    // Each candidate records the event-loop turn in which the classifier reads it.
    const turns = countEventLoopTurns();
    const readIn: number[] = [];
    const candidates = Array.from({ length: 200 }, (_, i) => {
      const content = randomWords(i + 1, 32 * 1024);
      return {
        id: String(i),
        role: "user" as const,
        metadata: {},
        get content() {
          readIn.push(turns.turns);
          return content;
        },
      };
    });
    try {
      expect(await new LocalStatementClassifier().classify(candidates)).toHaveLength(200);
      const abandoned = new AbortController();
      setImmediate(() => abandoned.abort(new Error("caller went away")));
      await expect(new LocalStatementClassifier().classify(candidates, abandoned.signal)).rejects.toThrow(
        "caller went away",
      );
    } finally {
      turns.stop();
    }
    expect(readIn.slice(0, 200).at(-1)).toBeGreaterThan(readIn[0]!);
  });

  it("drops impersonal remarks", async () => {
    for (const content of [
      "The weather has been so grey lately.",
      "The quarterly report covers revenue in three regions",
    ]) {
      expect(await classify(content)).toMatchObject({ store: false, reason: "impersonal" });
    }
  });
});
