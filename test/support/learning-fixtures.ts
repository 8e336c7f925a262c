import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import type { TestServer } from "./server-harness.js";

/** Sums a counter's samples in a Prometheus exposition. */
export function metricTotal(body: string, name: string): number {
  return body
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

export async function scrape(server: TestServer): Promise<string> {
  return (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
}

/** A 40-turn conversation: a preference in the first turn, a fact in the last, questions and answers between. */
export function longConversation(): { role: Role; content: string }[][] {
  const turns: { role: Role; content: string }[][] = [];
  for (let i = 0; i < 40; i++) {
    const user =
      i === 0
        ? "I prefer aisle seats on long flights"
        : i === 39
          ? "I live in Lisbon, near the river"
          : `What should we see on day ${i} of the trip, and is museum number ${i} open then?`;
    turns.push([
      { role: Role.USER, content: user },
      { role: Role.ASSISTANT, content: `For day ${i}, museum number ${i} opens at nine and the old town is close by.` },
    ]);
  }
  return turns;
}
