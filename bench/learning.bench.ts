import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../src/gen/engram/v1/short_term_pb.js";
import { startFakeModelServer } from "../test/support/openai-compatible-server.js";
import { topics } from "./corpus.js";
import { startEngramProcess } from "./engram-process.js";
import { measure, printTable, type Figures } from "./measure.js";

/**
 * AppendMessages never waits on a model: with sessions past their token
 * limit on every few appends, compaction and learning run in the background.
 * Measured on the embedded default without a model, and with an
 * OpenAI-compatible model (our local test server) that takes 2 s per answer.
 */
export async function benchLearning(options: { calls: number; concurrency: number }): Promise<void> {
  const models = await startFakeModelServer(256);
  models.chatDelayMs = 2000;
  // A small limit, so appends keep queuing compactions (and the extraction before each).
  const session = { ENGRAM_SESSION_TOKEN_LIMIT: "200", ENGRAM_SUMMARY_MAX_TOKENS: "80" };
  const local = await startEngramProcess(session);
  const slow = await startEngramProcess({
    ...session,
    ENGRAM_MODEL_PROVIDER: "openai",
    ENGRAM_OPENAI_BASE_URL: models.baseUrl,
    ENGRAM_OPENAI_TIMEOUT_MS: "10000",
  });
  try {
    const append = (baseUrl: string) => {
      const client = createClient(MemoryService, createGrpcTransport({ baseUrl }));
      return (i: number) =>
        client.appendMessages({
          scope: { namespace: "bench", userId: "talker" },
          sessionId: `s-${Math.abs(i) % 20}`,
          messages: [{ role: Role.USER, content: `message ${i}: I prefer ${topics(i)}` }],
        });
    };
    const rows: Figures[] = [
      await measure("AppendMessages, no model (local default)", append(local.baseUrl), options),
      await measure("AppendMessages, model answering in 2 s", append(slow.baseUrl), options),
    ];
    const chats = models.requests.filter((r) => r.path === "/v1/chat/completions").length;
    printTable(
      `Appends past the token limit (200), compaction and learning in the background (${chats} model calls made meanwhile)`,
      rows,
      rows[0]!,
    );
  } finally {
    await Promise.all([local.stop(), slow.stop()]);
    await models.stop();
  }
}
