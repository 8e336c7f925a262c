import { LuaScript } from "./lua-script.js";

/**
 * Working memory as Lua scripts: one hash per task with a real Redis TTL,
 * entries under "e:<key>" and the last update under "m:updated", plus a
 * per-user sorted set of task ids for ListWorking and ForgetUser. Times come
 * from the Redis server's clock, so every replica agrees on them.
 */

/**
 * KEYS: task, index. ARGV: ttlMs, maxEntries, taskId, then (key, value) pairs.
 * Returns {updatedMs, ttlMs, field, value, ...}, or raises "ENGRAM_LIMIT …".
 */
export const setWorkingScript = new LuaScript(
  `
local ttl = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local count = 0
if redis.call('EXISTS', KEYS[1]) == 1 then count = redis.call('HLEN', KEYS[1]) - 1 end
for i = 4, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], 'e:' .. ARGV[i]) == 0 then count = count + 1 end
end
if count > max then
  return redis.error_reply('ENGRAM_LIMIT task "' .. ARGV[3] .. '" would hold ' .. count .. ' entries; the limit is ' .. max)
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'e:' .. ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[1], 'm:updated', now)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now, ARGV[3])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
local reply = {now, ttl}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do reply[#reply + 1] = all[i] end
return reply
`,
  "set_working",
);

/** KEYS: task. Returns {nowMs, pttlMs, field, value, ...}, or {} if absent. */
export const getWorkingScript = new LuaScript(
  `
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return {} end
local time = redis.call('TIME')
local reply = {tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000), ttl}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do reply[#reply + 1] = all[i] end
return reply
`,
  "get_working",
  "read",
);

/** KEYS: task, index. ARGV: taskId. Returns the entry count, or -1 if absent. */
export const deleteTaskScript = new LuaScript(
  `
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local count = redis.call('HLEN', KEYS[1]) - 1
redis.call('DEL', KEYS[1])
return count
`,
  "delete_task",
);

/** KEYS: index, then one task key per listed id. ARGV: the task ids. Returns how many existed. */
export const deleteTasksScript = new LuaScript(
  `
local existed = 0
for i = 1, #ARGV do
  existed = existed + redis.call('DEL', KEYS[i + 1])
  redis.call('ZREM', KEYS[1], ARGV[i])
end
return existed
`,
  "delete_tasks",
);
