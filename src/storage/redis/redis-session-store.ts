import type { NewMessage, Role, Scope, SessionSnapshot, StoredMessage } from "../../domain/types.js";
import type {
  AppendKey,
  AppendResult,
  CompactionCommit,
  CompactionOutcome,
  SessionRef,
  SessionStore,
} from "../../domain/ports.js";
import type { RedisClient } from "./lua-script.js";
import type { RedisKeys } from "./redis-keys.js";
import { translateRedisErrors } from "./redis-errors.js";
import {
  appendScript,
  commitCompactionScript,
  commitExtractionScript,
  deleteSessionScript,
  deleteSessionsScript,
  forgetIdleScript,
} from "./session-scripts.js";

/** How many sessions one ForgetUser script deletes at a time. */
const deleteBatch = 100;

/** Short-term memory in Redis: one hash and one list per session, TTLs in Redis. */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  append(
    scope: Scope,
    sessionId: string,
    messages: readonly NewMessage[],
    ttlSeconds: number,
    appendKey?: AppendKey,
  ): Promise<AppendResult> {
    return translateRedisErrors(async () => {
      const args: (string | number)[] = [
        ttlSeconds * 1000,
        sessionId,
        appendKey?.key ?? "",
        appendKey ? messages.map((m) => m.id).join(",") : "",
        appendKey?.fingerprint ?? "",
      ];
      for (const message of messages) args.push(message.tokenCount, encodeMessage(message));
      // The idle index first: a session in it that then failed to append costs the sweep a look, while an
      // append missing from it would never be learnt from if the session went idle. Not in the script:
      // the index is one key for every user, and a script's keys must share the user's Cluster slot.
      await this.redis.zadd(this.keys.idleIndex(), Date.now(), sessionMember(scope, sessionId));
      const [first, last, tokens, count, replayedIds, replayedFingerprint] = (await appendScript.run(
        this.redis,
        [
          this.keys.sessionMeta(scope, sessionId),
          this.keys.sessionMessages(scope, sessionId),
          this.keys.sessionIndex(scope),
        ],
        args,
      )) as [number, number, number, number, string?, string?];
      return {
        sequences: Array.from({ length: last - first + 1 }, (_, i) => first + i),
        messageIds: replayedIds === undefined ? messages.map((m) => m.id) : replayedIds.split(","),
        tokenCount: tokens,
        messageCount: count,
        replayed: replayedIds !== undefined,
        ...(replayedIds !== undefined ? { replayedFingerprint: replayedFingerprint ?? "" } : {}),
      };
    });
  }

  read(scope: Scope, sessionId: string): Promise<SessionSnapshot | undefined> {
    return translateRedisErrors(async () => {
      // MULTI: the summary and the list are read at one instant.
      const results = await this.redis
        .multi()
        // Named fields only: the hash also remembers append keys ("k:<key>").
        .hmget(
          this.keys.sessionMeta(scope, sessionId),
          "tokens",
          "summary",
          "summary_tokens",
          "summarized_through",
          "summarized_count",
          "extracted",
        )
        .lrange(this.keys.sessionMessages(scope, sessionId), 0, -1)
        .exec();
      const [metaResult, listResult] = results ?? [];
      if (metaResult?.[0]) throw metaResult[0];
      if (listResult?.[0]) throw listResult[0];
      const [tokens, summary, summaryTokens, summarizedThrough, summarizedCount, extracted] = metaResult?.[1] as (
        string | null
      )[];
      // Every live session has a token count; none means no session.
      if (tokens === null || tokens === undefined) return undefined;
      const messages = (listResult?.[1] as string[]).map(decodeMessage);
      return {
        summary:
          summary === null || summary === undefined
            ? undefined
            : {
                content: summary,
                tokenCount: Number(summaryTokens),
                summarizedThroughSequence: Number(summarizedThrough),
                summarizedMessageCount: Number(summarizedCount),
              },
        messages,
        tokenCount: Number(tokens),
        extractedThroughSequence: Number(extracted ?? 0),
      };
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

  commitExtraction(
    scope: Scope,
    sessionId: string,
    expectedThrough: number,
    through: number,
  ): Promise<CompactionOutcome> {
    return translateRedisErrors(async () => {
      const applied = await commitExtractionScript.run(
        this.redis,
        [this.keys.sessionMeta(scope, sessionId)],
        [expectedThrough, through],
      );
      return applied === 1 ? "committed" : "conflict";
    });
  }

  idleSessions(activeBefore: Date, limit: number): Promise<SessionRef[]> {
    return translateRedisErrors(async () => {
      const before = activeBefore.getTime();
      const members = await this.redis.zrangebyscore(this.keys.idleIndex(), "-inf", `(${before}`, "LIMIT", 0, limit);
      const idle: SessionRef[] = [];
      for (const member of members) {
        const ref = parseSessionMember(member);
        const [last, extracted] = await this.redis.hmget(
          this.keys.sessionMeta(ref.scope, ref.sessionId),
          "last_seq",
          "extracted",
        );
        if (last !== null && Number(last) > Number(extracted ?? 0)) idle.push(ref);
        // Gone (ended, expired) or learnt from entirely: out of the index, unless appended to meanwhile.
        else await forgetIdleScript.run(this.redis, [this.keys.idleIndex()], [member, before]);
      }
      return idle;
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

  sessionIds(scope: Scope): Promise<string[]> {
    // The index may name sessions that expired since; reading them finds nothing.
    return translateRedisErrors(async () => (await this.redis.smembers(this.keys.sessionIndex(scope))).sort());
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

/** A session in the idle index: JSON, since ids may contain any separator but braces. */
function sessionMember(scope: Scope, sessionId: string): string {
  return JSON.stringify([scope.namespace, scope.userId, sessionId]);
}

function parseSessionMember(member: string): SessionRef {
  const [namespace, userId, sessionId] = JSON.parse(member) as [string, string, string];
  return { scope: { namespace, userId }, sessionId };
}

function encodeMessage(message: NewMessage): string {
  return JSON.stringify({
    id: message.id,
    role: message.role,
    content: message.content,
    metadata: message.metadata,
    createdAt: message.createdAt.getTime(),
    ...(message.occurredAt.getTime() !== message.createdAt.getTime()
      ? { occurredAt: message.occurredAt.getTime() }
      : {}),
    ...(message.name ? { name: message.name } : {}),
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
    occurredAt?: number;
    name?: string;
  };
  return {
    id: body.id,
    sequence: Number(match[1]),
    tokenCount: Number(match[2]),
    role: body.role,
    content: body.content,
    metadata: body.metadata,
    createdAt: new Date(body.createdAt),
    occurredAt: new Date(body.occurredAt ?? body.createdAt),
    ...(body.name ? { name: body.name } : {}),
  };
}
