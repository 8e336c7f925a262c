import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limits } from "../../src/domain/limits.js";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { openClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * A burst of the heaviest Recalls the limits allow (8 KiB queries, embedded
 * by the default ONNX model and matched against the full-text index) must
 * not hold up another tenant. The assertion counts answers, not time:
 * pinging one call after another while the burst is in flight, another
 * tenant gets at least one answer per Recall of the burst. Before the model
 * ran on its own thread, every query's inference ran on the event loop, the
 * burst's inferences back to back in one turn, and a Ping was answered
 * only after all of them (twenty Recalls over 5,000 memories: 5.0 s): four
 * answers in all for a burst of twenty.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.destroy());

const words = ["flights", "Lisbon", "aisle", "vegetarian", "jazz", "desk", "morning", "roast", "fiction", "train"];

/** A distinct query of just under the 8 KiB limit, of words the memories share and words they do not. */
function heavyQuery(n: number): string {
  const parts: string[] = [];
  for (let k = 0; parts.join(" ").length < limits.queryBytes - 40; k++) {
    parts.push(k % 3 === 0 ? words[k % words.length]! : `term${n}x${k}`);
  }
  return parts.join(" ");
}

describe("a burst of heavy Recalls", () => {
  it("leaves another tenant's Ping answering while the burst is worked on", async () => {
    const caller = openClient("grpc", server.baseUrl).client;
    const bystander = openClient("grpc", server.baseUrl).client;
    const scope = { namespace: "burst", userId: randomUUID() };
    const memories = Array.from({ length: 100 }, (_, i) => ({
      type: MemoryType.SEMANTIC,
      content: `The user mentioned ${words[i % words.length]} and ${words[(i * 3) % words.length]} (note ${i})`,
    }));
    await caller.importMemories({ scope, memories });
    await bystander.ping({});

    let pending = 8;
    const burst = Array.from({ length: pending }, (_, i) =>
      caller.recall({ scope, query: heavyQuery(i), topK: 10 }).finally(() => pending--),
    );
    // One Ping after another for as long as the burst is in flight.
    let answered = 0;
    while (pending > 0) {
      await bystander.ping({});
      answered++;
    }

    const replies = await Promise.all(burst);
    // The burst itself is served in full.
    for (const reply of replies) expect(reply.memories).toHaveLength(10);
    // Two answers per Recall of the burst at least: the bystander never waited for the burst.
    expect(answered).toBeGreaterThanOrEqual(2 * replies.length);
  });
});
