import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../src/gen/engram/v1/short_term_pb.js";
import { startEngramProcess } from "./engram-process.js";
import { measure, printTable } from "./measure.js";
import { topics } from "./corpus.js";

/** The embedded default over loopback gRPC, against a bare Ping in the same run. */
export async function benchEmbedded(options: { memories: number; calls: number; concurrency: number }): Promise<void> {
  const engram = await startEngramProcess();
  try {
    const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
    const scope = { namespace: "bench", userId: "heavy-user" };

    const seedStarted = performance.now();
    for (let i = 0; i < options.memories; i += 64) {
      await Promise.all(
        Array.from({ length: Math.min(64, options.memories - i) }, (_, j) =>
          client.remember({
            scope,
            type: MemoryType.SEMANTIC,
            content: topics(i + j),
            importance: ((i + j) % 10) / 10,
          }),
        ),
      );
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    await client.setWorking({
      scope,
      taskId: "task",
      entries: { plan: "compare three flights and pick one", draft: "Option A: TAP 8am" },
    });
    for (let i = 0; i < 20; i++) {
      await client.appendMessages({ scope, sessionId: "history", messages: [{ role: Role.USER, content: topics(i) }] });
    }

    const ping = await measure("Ping (baseline)", () => client.ping({}), options);
    const append = await measure(
      "AppendMessages (1 message)",
      (i) =>
        client.appendMessages({
          scope,
          sessionId: `s-${Math.abs(i) % 200}`,
          messages: [{ role: Role.USER, content: `message ${i} about ${topics(i)}` }],
        }),
      options,
    );
    const remember = await measure(
      "Remember (new fact, gate bypassed)",
      (i) =>
        client.remember({
          scope: { namespace: "bench", userId: "writer" },
          type: MemoryType.SEMANTIC,
          content: `${topics(i)} (note ${i})`,
          importance: 0.5,
        }),
      options,
    );
    const recall = await measure(
      `Recall (top 10 of ${options.memories})`,
      (i) => client.recall({ scope, query: topics(i * 7 + 3), topK: 10 }),
      options,
    );
    const assemble = await measure(
      "AssembleContext (4 sections)",
      async (i) => {
        for await (const _ of client.assembleContext({
          scope,
          sessionId: "history",
          taskId: "task",
          query: topics(i * 13 + 1),
          tokenBudget: 2000,
          documents: [{ id: "d1", content: "TAP flies Lisbon daily at 8am.", source: "timetable", score: 1 }],
        })) {
          // drain
        }
      },
      options,
    );
    printTable(
      `Embedded default (SQLite) over loopback gRPC; ${options.memories} memories seeded in ${seedSeconds.toFixed(1)} s; latency sequential, throughput at concurrency ${options.concurrency}`,
      [ping, append, remember, recall, assemble],
      ping,
    );
  } finally {
    await engram.stop();
  }
}
