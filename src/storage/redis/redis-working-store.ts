import type { Scope, WorkingState } from "../../domain/types.js";
import type { WorkingStore } from "../../domain/ports.js";
import type { RedisClient } from "./lua-script.js";
import type { RedisKeys } from "./redis-keys.js";
import { translateRedisErrors } from "./redis-errors.js";
import { deleteTaskScript, deleteTasksScript, getWorkingScript, setWorkingScript } from "./working-scripts.js";

const deleteBatch = 100;

/** Working memory in Redis: one hash per task, so CompleteTask is one DEL. */
export class RedisWorkingStore implements WorkingStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  set(
    scope: Scope,
    taskId: string,
    entries: Readonly<Record<string, string>>,
    ttlSeconds: number,
    maxEntries: number,
  ): Promise<WorkingState> {
    return translateRedisErrors(async () => {
      const args: (string | number)[] = [ttlSeconds * 1000, maxEntries, taskId];
      for (const [key, value] of Object.entries(entries)) args.push(key, value);
      const reply = (await setWorkingScript.run(
        this.redis,
        [this.keys.task(scope, taskId), this.keys.taskIndex(scope)],
        args,
      )) as string[];
      return toState(taskId, reply)!;
    });
  }

  get(scope: Scope, taskId: string): Promise<WorkingState | undefined> {
    return translateRedisErrors(async () =>
      toState(taskId, (await getWorkingScript.run(this.redis, [this.keys.task(scope, taskId)], [])) as string[]),
    );
  }

  list(scope: Scope): Promise<WorkingState[]> {
    return translateRedisErrors(async () => {
      const ids = await this.redis.zrevrange(this.keys.taskIndex(scope), 0, -1);
      const states = await Promise.all(ids.map((id) => this.get(scope, id)));
      // The index outlives expired tasks; drop those it still names.
      const expired = ids.filter((_, i) => states[i] === undefined);
      if (expired.length > 0) await this.redis.zrem(this.keys.taskIndex(scope), ...expired);
      return states.filter((s): s is WorkingState => s !== undefined);
    });
  }

  delete(scope: Scope, taskId: string): Promise<number | undefined> {
    return translateRedisErrors(async () => {
      const count = (await deleteTaskScript.run(
        this.redis,
        [this.keys.task(scope, taskId), this.keys.taskIndex(scope)],
        [taskId],
      )) as number;
      return count < 0 ? undefined : count;
    });
  }

  deleteUser(scope: Scope): Promise<number> {
    return translateRedisErrors(async () => {
      let deleted = 0;
      for (;;) {
        const ids = await this.redis.zrange(this.keys.taskIndex(scope), 0, String(deleteBatch - 1));
        if (ids.length === 0) return deleted;
        deleted += (await deleteTasksScript.run(
          this.redis,
          [this.keys.taskIndex(scope), ...ids.map((id) => this.keys.task(scope, id))],
          ids,
        )) as number;
      }
    });
  }
}

/** Builds the state from a script reply {nowMs, ttlMs, field, value, ...}. */
function toState(taskId: string, reply: readonly (string | number)[]): WorkingState | undefined {
  if (reply.length < 2) return undefined;
  const now = Number(reply[0]);
  const ttl = Number(reply[1]);
  const entries: [string, string][] = [];
  let updated = now;
  for (let i = 2; i + 1 < reply.length; i += 2) {
    const field = String(reply[i]);
    if (field.startsWith("e:")) entries.push([field.slice(2), String(reply[i + 1])]);
    else if (field === "m:updated") updated = Number(reply[i + 1]);
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { taskId, entries: Object.fromEntries(entries), updatedAt: new Date(updated), expiresAt: new Date(now + ttl) };
}
