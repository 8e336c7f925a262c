import { LuaScript } from "./lua-script.js";

/**
 * Short-term memory as Lua scripts: each runs atomically on the node that
 * owns the user's slot, so concurrent appends from any number of Engram
 * replicas interleave whole, and a compaction commits only against the exact
 * prefix it summarised. List items are "<seq>:<tokens>:<message json>".
 */

/**
 * KEYS: meta, msgs, index. ARGV: ttlMs, sessionId, appendKey ("" for none),
 * the message ids joined by "," (only with a key), the append's fingerprint,
 * then (tokens, json) per message. Returns {first, last, tokens, count};
 * with a key already in the meta hash (field "k:<key>" = "first:last:ids",
 * "f:<key>" = fingerprint), nothing is appended and {first, last, tokens,
 * count, ids, fingerprint} of the first append come back.
 */
export const appendScript = new LuaScript(
  `
local ttl = tonumber(ARGV[1])
-- The two keys expire separately; a list outliving its meta is a dead session's.
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or '0')
if ARGV[3] ~= '' then
  local seen = redis.call('HGET', KEYS[1], 'k:' .. ARGV[3])
  if seen then
    local first, last, ids = string.match(seen, '^(%d+):(%d+):(.*)$')
    local fingerprint = redis.call('HGET', KEYS[1], 'f:' .. ARGV[3]) or ''
    return {tonumber(first), tonumber(last), tokens, redis.call('LLEN', KEYS[2]), ids, fingerprint}
  end
end
local last = tonumber(redis.call('HGET', KEYS[1], 'last_seq') or '0')
local first = last + 1
for i = 6, #ARGV, 2 do
  last = last + 1
  tokens = tokens + tonumber(ARGV[i])
  redis.call('RPUSH', KEYS[2], last .. ':' .. ARGV[i] .. ':' .. ARGV[i + 1])
end
redis.call('HSET', KEYS[1], 'last_seq', last, 'tokens', tokens)
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'k:' .. ARGV[3], first .. ':' .. last .. ':' .. ARGV[4], 'f:' .. ARGV[3], ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('SADD', KEYS[3], ARGV[2])
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
return {first, last, tokens, redis.call('LLEN', KEYS[2])}
`,
  "append",
);

/**
 * KEYS: meta, msgs. ARGV: expectedThrough, through, summary, summaryTokens,
 * firstFoldedId, lastFoldedId.
 * Returns 1 when committed, 0 when the session changed (conflict).
 */
export const commitCompactionScript = new LuaScript(
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'summarized_through') or '0')
if current ~= tonumber(ARGV[1]) then return 0 end
local through = tonumber(ARGV[2])
local fold = through - current
if fold < 1 then return 0 end
local items = redis.call('LRANGE', KEYS[2], 0, fold - 1)
if #items ~= fold then return 0 end
local folded_tokens = 0
for _, item in ipairs(items) do
  local _, tokens = string.match(item, '^(%d+):(%d+):')
  folded_tokens = folded_tokens + tonumber(tokens)
end
local last_seq = tonumber(string.match(items[#items], '^(%d+):'))
if last_seq ~= through then return 0 end
-- Message ids are unique: these two pin the plan to this incarnation of the session.
if not string.find(items[1], '"id":"' .. ARGV[5] .. '"', 1, true) then return 0 end
if not string.find(items[#items], '"id":"' .. ARGV[6] .. '"', 1, true) then return 0 end
redis.call('LTRIM', KEYS[2], fold, -1)
local old_summary = tonumber(redis.call('HGET', KEYS[1], 'summary_tokens') or '0')
local new_summary = tonumber(ARGV[4])
redis.call('HINCRBY', KEYS[1], 'tokens', new_summary - old_summary - folded_tokens)
redis.call('HINCRBY', KEYS[1], 'summarized_count', fold)
redis.call('HSET', KEYS[1], 'summary', ARGV[3], 'summary_tokens', new_summary, 'summarized_through', through)
return 1
`,
  "commit_compaction",
);

/** KEYS: meta, msgs, index. ARGV: sessionId. Returns the message count, or -1 if absent. */
export const deleteSessionScript = new LuaScript(
  `
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return -1
end
local count = redis.call('LLEN', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return count
`,
  "delete_session",
);

/**
 * KEYS: index, then (meta, msgs) per listed session. ARGV: the session ids.
 * Deletes the listed sessions, drops them from the index; returns how many existed.
 */
export const deleteSessionsScript = new LuaScript(
  `
local existed = 0
for i = 1, #ARGV do
  local meta = KEYS[2 * i]
  if redis.call('EXISTS', meta) == 1 then existed = existed + 1 end
  redis.call('DEL', meta, KEYS[2 * i + 1])
  redis.call('SREM', KEYS[1], ARGV[i])
end
return existed
`,
  "delete_sessions",
);

/**
 * KEYS: meta. ARGV: expectedThrough, through. Moves the extraction
 * watermark if it is still the expected one; 1 when committed, else 0.
 */
export const commitExtractionScript = new LuaScript(
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'extracted') or '0')
if current ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'extracted', ARGV[2])
return 1
`,
  "commit_extraction",
);

/** KEYS: idle index. ARGV: member, activeBefore (ms). Drops the member unless it was touched since. */
export const forgetIdleScript = new LuaScript(
  `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) < tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`,
  "forget_idle",
);
