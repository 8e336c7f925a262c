import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { countTokens } from "../src/domain/tokenizer.js";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../src/gen/engram/v1/short_term_pb.js";
import { RedisKeys } from "../src/storage/redis/redis-keys.js";
import { appendScript } from "../src/storage/redis/session-scripts.js";
import { startRedis } from "../test/support/redis-servers.js";
import { startEngramProcess } from "./engram-process.js";
import { measure, printTable } from "./measure.js";

/**
 * AppendMessages through Engram on Redis, against the floor: the same
 * atomic append (the same Lua script, keys and arguments) sent straight
 * from ioredis to the same Redis, in the same run.
 */
export async function benchRedis(options: { calls: number; concurrency: number }): Promise<void> {
  const redis = await startRedis();
  const engram = await startEngramProcess({ ENGRAM_REDIS_URL: redis.url, ENGRAM_SESSION_TOKEN_LIMIT: "1000000" });
  const direct = new Redis(redis.url);
  try {
    const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
    const scope = { namespace: "bench", userId: "redis-user" };
    const keys = new RedisKeys("engram-floor");
    const content = (i: number) => `message ${i}: the user asks about flights to Lisbon in spring`;

    const ping = await measure("Ping (Engram baseline)", () => client.ping({}), options);
    const floor = await measure(
      "append via ioredis (floor)",
      (i) => {
        const session = `s-${Math.abs(i) % 200}`;
        const body = JSON.stringify({
          id: randomUUID(),
          role: "user",
          content: content(i),
          metadata: {},
          createdAt: Date.now(),
        });
        return appendScript.run(
          direct,
          [keys.sessionMeta(scope, session), keys.sessionMessages(scope, session), keys.sessionIndex(scope)],
          // ttlMs, sessionId, then no append key (key, ids, fingerprint all ""), then (tokens, json).
          [86_400_000, session, "", "", "", countTokens(content(i)), body],
        );
      },
      options,
    );
    const append = await measure(
      "AppendMessages via Engram",
      (i) =>
        client.appendMessages({
          scope,
          sessionId: `s-${Math.abs(i) % 200}`,
          messages: [{ role: Role.USER, content: content(i) }],
        }),
      options,
    );
    printTable(
      "Short-term memory on Redis (standalone, loopback); ratio against the direct ioredis floor",
      [floor, append, ping],
      floor,
    );
  } finally {
    direct.disconnect();
    await engram.stop();
    await redis.stop();
  }
}
