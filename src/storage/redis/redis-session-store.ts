import type { NewMessage, Role, Scope, SessionSnapshot, StoredMessage } from "../../domain/types.js";
import type { AppendResult, CompactionCommit, CompactionOutcome, SessionStore } from "../stores.js";
import type { RedisClient } from "./lua-script.js";
import type { RedisKeys } from "./redis-keys.js";
import { translateRedisErrors } from "./redis-errors.js";
import { appendScript, commitCompactionScript, deleteSessionScript, deleteSessionsScript } from "./session-scripts.js";

/** How many sessions one ForgetUser script deletes at a time. */
const deleteBatch = 100;

/** Short-term memory in Redis: one hash and one list per session, TTLs in Redis. */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  append(scope: Scope, sessionId: string, messages: readonly NewMessage[], ttlSeconds: number): Promise<AppendResult> {
    return translateRedisErrors(async () => {
      const args: (string | number)[] = [ttlSeconds * 1000, sessionId];
      for (const message of messages) args.push(message.tokenCount, encodeMessage(message));
      const [first, last, tokens, count] = (await appendScript.run(
        this.redis,
        [
          this.keys.sessionMeta(scope, sessionId),
          this.keys.sessionMessages(scope, sessionId),
          this.keys.sessionIndex(scope),
        ],
        args,
      )) as number[];
      const sequences = Array.from({ length: last! - first! + 1 }, (_, i) => first! + i);
      return { sequences, tokenCount: tokens!, messageCount: count! };
    });
  }

  read(scope: Scope, sessionId: string): Promise<SessionSnapshot | undefined> {
    return translateRedisErrors(async () => {
      // MULTI: the summary and the list are read at one instant.
      const results = await this.redis
        .multi()
        .hgetall(this.keys.sessionMeta(scope, sessionId))
        .lrange(this.keys.sessionMessages(scope, sessionId), 0, -1)
        .exec();
      const [metaResult, listResult] = results ?? [];
      if (metaResult?.[0]) throw metaResult[0];
      if (listResult?.[0]) throw listResult[0];
      const meta = metaResult?.[1] as Record<string, string> | undefined;
      if (!meta || Object.keys(meta).length === 0) return undefined;
      const messages = (listResult?.[1] as string[]).map(decodeMessage);
      const summary =
        meta.summary === undefined
          ? undefined
          : {
              content: meta.summary,
              tokenCount: Number(meta.summary_tokens),
              summarizedThroughSequence: Number(meta.summarized_through),
              summarizedMessageCount: Number(meta.summarized_count),
            };
      return { summary, messages, tokenCount: Number(meta.tokens) };
    });
  }

  commitCompaction(scope: Scope, sessionId: string, commit: CompactionCommit): Promise<CompactionOutcome> {
    return translateRedisErrors(async () => {
      const applied = await commitCompactionScript.run(
        this.redis,
        [this.keys.sessionMeta(scope, sessionId), this.keys.sessionMessages(scope, sessionId)],
        [
          commit.expectedSummarizedThrough,
          commit.throughSequence,
          commit.summary,
          commit.summaryTokenCount,
          commit.firstFoldedId,
          commit.lastFoldedId,
        ],
      );
      return applied === 1 ? "committed" : "conflict";
    });
  }

  delete(scope: Scope, sessionId: string): Promise<number | undefined> {
    return translateRedisErrors(async () => {
      const count = (await deleteSessionScript.run(
        this.redis,
        [
          this.keys.sessionMeta(scope, sessionId),
          this.keys.sessionMessages(scope, sessionId),
          this.keys.sessionIndex(scope),
        ],
        [sessionId],
      )) as number;
      return count < 0 ? undefined : count;
    });
  }

  deleteUser(scope: Scope): Promise<number> {
    return translateRedisErrors(async () => {
      // The index names every session; delete them in batches until it is
      // empty, so sessions created meanwhile are caught by the next round.
      let deleted = 0;
      for (;;) {
        const ids = await this.redis.srandmember(this.keys.sessionIndex(scope), deleteBatch);
        if (ids.length === 0) return deleted;
        const keys = [this.keys.sessionIndex(scope)];
        for (const id of ids) keys.push(this.keys.sessionMeta(scope, id), this.keys.sessionMessages(scope, id));
        deleted += (await deleteSessionsScript.run(this.redis, keys, ids)) as number;
      }
    });
  }
}

function encodeMessage(message: NewMessage): string {
  return JSON.stringify({
    id: message.id,
    role: message.role,
    content: message.content,
    metadata: message.metadata,
    createdAt: message.createdAt.getTime(),
  });
}

function decodeMessage(item: string): StoredMessage {
  const match = /^(\d+):(\d+):/.exec(item)!;
  const body = JSON.parse(item.slice(match[0].length)) as {
    id: string;
    role: Role;
    content: string;
    metadata: Record<string, string>;
    createdAt: number;
  };
  return {
    id: body.id,
    sequence: Number(match[1]),
    tokenCount: Number(match[2]),
    role: body.role,
    content: body.content,
    metadata: body.metadata,
    createdAt: new Date(body.createdAt),
  };
}
