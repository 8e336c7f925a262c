import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { loadConfig } from "../../src/config.js";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { OnnxEmbedder } from "../../src/models/onnx-embedder.js";
import { startTestServer } from "../../test/support/server-harness.js";
import { bm25, dense } from "./baselines.js";
import { random, type Turn } from "./dataset.js";

/**
 * `npx tsx bench/recall/changed-facts.ts`: questions about facts that
 * changed, scored on the current answer. Each case is a user telling a fact
 * in one session and its change in a later one, with chit-chat around,
 * then a question; a retriever answers well when its first result is the
 * change (the current answer) and badly when it is the stale statement.
 * Engram (default configuration: no model, local-onnx, embedded store,
 * through AppendMessages + EndSession) is printed beside plain BM25 and
 * plain dense retrieval over the same turns, computed in the same run.
 * Kept apart from the recall dataset (dataset.ts) so each can grow alone.
 */

interface ChangedFact {
  readonly kind: string;
  readonly before: string;
  readonly after: string;
  readonly question: string;
}

const cities = ["Madrid", "Valencia", "Leeds", "Manchester", "Porto", "Lisbon", "Ghent", "Antwerp", "Denver", "Austin"];
const companies = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"];
const times = ["9:00", "9:30", "10:00", "10:30", "11:00", "14:00"];
const foods = ["cilantro", "mushrooms", "olives", "blue cheese", "anchovies"];
const editors = ["Vim", "Emacs", "VS Code", "IntelliJ"];

/** Templates written as people talk: each kind has several ways to tell the fact and its change. */
function changedFacts(rng: () => number): ChangedFact[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(rng() * items.length)]!;
  const two = <T>(items: readonly T[]): [T, T] => {
    const a = pick(items);
    let b = pick(items);
    while (b === a) b = pick(items);
    return [a, b];
  };
  const cases: (() => ChangedFact)[] = [
    () => {
      const [a, b] = two(cities);
      return pick([
        {
          kind: "home",
          before: `I live in ${a}.`,
          after: `We relocated to ${b} in March.`,
          question: "Where does the user live?",
        },
        {
          kind: "home",
          before: `I'm based in ${a} these days.`,
          after: `I've moved to ${b}.`,
          question: "Which city is the user based in?",
        },
        {
          kind: "home",
          before: `My home is in ${a}.`,
          after: `We're moving to ${b} next month, the flat is signed.`,
          question: "Where is the user's home?",
        },
      ]);
    },
    () => {
      const [a, b] = two(companies);
      return pick([
        {
          kind: "workplace",
          before: `I work at ${a} as a designer.`,
          after: `I'm now at ${b}.`,
          question: "Where does the user work?",
        },
        {
          kind: "workplace",
          before: `I work for ${a}.`,
          after: `I quit my job at ${a}, I joined ${b} last week.`,
          question: "Which company does the user work for?",
        },
      ]);
    },
    () => {
      const [a, b] = two(times);
      return pick([
        {
          kind: "schedule",
          before: `Standup is at ${a}.`,
          after: `Standup moved to ${b} from next week.`,
          question: "When is standup?",
        },
        {
          kind: "schedule",
          before: `Our weekly sync is at ${a} on Mondays.`,
          after: `The weekly sync is being moved to ${b}.`,
          question: "What time is the weekly sync?",
        },
      ]);
    },
    () => {
      const food = pick(foods);
      return pick([
        {
          kind: "taste",
          before: `I adore ${food}.`,
          after: `${food[0]!.toUpperCase()}${food.slice(1)} tastes like soap to me now, leave it out.`,
          question: `Should I put ${food} in the user's dinner?`,
        },
        {
          kind: "taste",
          before: `I love ${food} on everything.`,
          after: `I don't eat ${food} anymore.`,
          question: `Does the user like ${food}?`,
        },
      ]);
    },
    () =>
      pick([
        {
          kind: "diet",
          before: "I'm vegetarian.",
          after: "I'm not vegetarian anymore, I eat everything.",
          question: "What does the user eat?",
        },
        {
          kind: "diet",
          before: "I eat meat most days.",
          after: "I no longer eat meat.",
          question: "Does the user eat meat?",
        },
      ]),
    () => {
      const [a, b] = two(editors);
      return {
        kind: "tool",
        before: `I use ${a} for everything.`,
        after: `I've switched to ${b} for all my coding.`,
        question: "Which editor does the user use?",
      };
    },
  ];
  return Array.from({ length: 24 }, (_, i) => cases[i % cases.length]!());
}

const chatter = [
  "Thanks, that helps a lot.",
  "Can you summarise the plan?",
  "The weather has been grey lately.",
  "ok sounds good",
];

interface Score {
  current: number;
  stale: number;
}

async function main(): Promise<void> {
  const rng = random(Number(process.env.CHANGED_FACTS_SEED ?? 7));
  const facts = changedFacts(rng);
  const turnsOf = (f: ChangedFact, i: number): Turn[] =>
    [chatter[i % 4]!, f.before, chatter[(i + 1) % 4]!, chatter[(i + 2) % 4]!, f.after, chatter[(i + 3) % 4]!].map(
      (content, t) => ({
        id: `f${i}-t${t}`,
        session: t < 3 ? 0 : 1,
        role: "user",
        speaker: "user",
        content,
        occurredAt: new Date(Date.UTC(2026, 0, 1 + t * 7)),
      }),
    );
  const score = (first: string | undefined, f: ChangedFact, s: Score) => {
    if (first === f.after) s.current++;
    else if (first === f.before) s.stale++;
  };
  const rows: [string, Score][] = [];

  const lexical: Score = { current: 0, stale: 0 };
  const vectors: Score = { current: 0, stale: 0 };
  const model = await OnnxEmbedder.open(
    loadConfig({ ...process.env, ENGRAM_MODEL_PROVIDER: "local-onnx" }).models.onnx!,
  );
  for (const [i, f] of facts.entries()) {
    const turns = turnsOf(f, i);
    const text = (id: string | undefined) => turns.find((t) => t.id === id)?.content;
    score(text((await bm25(turns).rank(f.question, 1))[0]), f, lexical);
    score(text((await (await dense(turns, model)).rank(f.question, 1))[0]), f, vectors);
  }
  rows.push(["plain BM25 over turns", lexical], ["plain dense (all-MiniLM-L6-v2) over turns", vectors]);

  const server = await startTestServer({});
  try {
    const client = createClient(MemoryService, createGrpcTransport({ baseUrl: server.baseUrl }));
    const engram: Score = { current: 0, stale: 0 };
    for (const [i, f] of facts.entries()) {
      const scope = { namespace: "changed-facts", userId: `user-${i}` };
      const turns = turnsOf(f, i);
      for (const session of [0, 1]) {
        const sessionId = `s${session}`;
        await client.appendMessages({
          scope,
          sessionId,
          messages: turns.filter((t) => t.session === session).map((t) => ({ role: Role.USER, content: t.content })),
        });
        await client.endSession({ scope, sessionId });
      }
      const recalled = await client.recall({ scope, query: f.question, topK: 1 });
      score(recalled.memories[0]?.memory?.content, f, engram);
    }
    rows.push(["Engram embedded, default (no model, local-onnx), write path", engram]);
  } finally {
    await server.destroy();
  }
  console.log(`engram changed-facts: ${facts.length} facts told then changed, one question each; first result scored`);
  for (const [name, s] of rows) {
    const pct = (n: number) => `${((100 * n) / facts.length).toFixed(0)}%`.padStart(5);
    console.log(`${name.padEnd(64)} current ${pct(s.current)}   stale ${pct(s.stale)}`);
  }
}

await main();
