import type { RetrievalEntry, RetrievalLog } from "../../domain/retrieval-log.js";
import { LuaScript, type RedisClient } from "./lua-script.js";
import type { RedisKeys } from "./redis-keys.js";
import { translateRedisErrors } from "./redis-errors.js";
import type { Scope } from "../../domain/types.js";

/**
 * Retrievals in Redis, so a report may reach any replica. Each user has a
 * hash of entries and a sorted set of their times, under the user's hash
 * tag (one Cluster slot, one atomic script):
 *
 *   <prefix>:{ns/user}:retrievals       hash  id -> "<claimed 0|1><json entry>"
 *   <prefix>:{ns/user}:retrievals:by-t  zset  id by creation time (ms)
 *
 * Every put drops the user's entries older than the time-to-live and, past
 * `maxPerUser`, the oldest; both keys expire `ttlMs` after the user's last
 * retrieval. So Redis holds at most maxPerUser entries per active user, none
 * older than the time-to-live, each at most 100 memory ids.
 */
export class RedisRetrievalLog implements RetrievalLog {
  readonly where = "Redis (shared by every replica)";

  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    readonly ttlMs: number,
    private readonly maxPerUser: number,
  ) {}

  async put(entry: RetrievalEntry): Promise<void> {
    const scope = { namespace: entry.namespace, userId: entry.userId };
    await translateRedisErrors(() =>
      putScript.run(
        this.client,
        [this.keys.retrievals(scope), this.keys.retrievalTimes(scope)],
        [entry.id, `0${JSON.stringify(entry)}`, entry.createdAtMs, this.ttlMs, this.maxPerUser],
      ),
    );
  }

  async get(scope: Scope, id: string, nowMs: number): Promise<RetrievalEntry | undefined> {
    // Looked up under the reporter's own user: another user's retrieval is simply not there.
    const held = await translateRedisErrors(() => this.client.hget(this.keys.retrievals(scope), id));
    if (held === null) return undefined;
    const entry = JSON.parse(held.slice(1)) as RetrievalEntry;
    return nowMs - entry.createdAtMs > this.ttlMs ? undefined : entry;
  }

  async markReported(scope: Scope, id: string): Promise<boolean> {
    const marked = await translateRedisErrors(() => markScript.run(this.client, [this.keys.retrievals(scope)], [id]));
    return marked === 1;
  }
}

const putScript = new LuaScript(
  `
local id, value, now, ttl, max = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl)) do redis.call('HDEL', KEYS[1], old) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
redis.call('HSET', KEYS[1], id, value)
redis.call('ZADD', KEYS[2], now, id)
local over = redis.call('ZCARD', KEYS[2]) - max
if over > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do redis.call('HDEL', KEYS[1], old) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`,
  "retrieval put",
);

/** Marks the entry reported and says whether it was not yet, in one step: two concurrent reports count once. */
const markScript = new LuaScript(
  `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held or string.sub(held, 1, 1) ~= '0' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], '1' .. string.sub(held, 2))
return 1
`,
  "retrieval mark reported",
);
