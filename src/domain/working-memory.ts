import type { WorkingStore } from "./ports.js";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { limits } from "./limits.js";
import type { Scope, WorkingState } from "./types.js";
import { requireId, requireIntInRange, requireScope } from "./validation.js";
import { byteLength } from "./validation.js";

export interface WorkingOptions {
  /** TTL when a call gives none. */
  readonly defaultTtlSeconds: number;
}

/**
 * A task's scratchpad. Kept apart from the session, so compaction never
 * touches it; expires by TTL; cleared when the task completes.
 */
export class WorkingMemory {
  constructor(
    private readonly store: WorkingStore,
    private readonly options: WorkingOptions,
  ) {}

  async set(
    scope: Scope,
    taskId: string,
    entries: Readonly<Record<string, string>>,
    ttlSeconds: number,
  ): Promise<WorkingState> {
    requireScope(scope);
    requireId(taskId, "task_id");
    const keys = Object.keys(entries);
    if (keys.length === 0) throw new InvalidArgumentError("entries", "must contain at least one entry");
    if (keys.length > limits.workingEntriesPerSet) {
      throw new InvalidArgumentError("entries", `must contain at most ${limits.workingEntriesPerSet} entries per call`);
    }
    for (const key of keys) {
      if (key === "" || byteLength(key) > limits.workingKeyBytes) {
        throw new InvalidArgumentError("entries", `keys must be 1 to ${limits.workingKeyBytes} bytes`);
      }
      if (byteLength(entries[key] ?? "") > limits.workingValueBytes) {
        throw new InvalidArgumentError(
          `entries[${JSON.stringify(key)}]`,
          `must be at most ${limits.workingValueBytes} bytes`,
        );
      }
    }
    requireIntInRange(ttlSeconds, "ttl_seconds", 0, limits.ttlSecondsMax);
    const ttl = ttlSeconds === 0 ? this.options.defaultTtlSeconds : ttlSeconds;
    return this.store.set(scope, taskId, entries, ttl, limits.workingEntriesPerTask);
  }

  async get(scope: Scope, taskId: string): Promise<WorkingState> {
    requireScope(scope);
    requireId(taskId, "task_id");
    const state = await this.store.get(scope, taskId);
    if (!state) throw new NotFoundError("task", taskId);
    return state;
  }

  /** Reads a task for assembly; undefined when there is none. */
  async peek(scope: Scope, taskId: string): Promise<WorkingState | undefined> {
    return this.store.get(scope, taskId);
  }

  async list(scope: Scope): Promise<WorkingState[]> {
    requireScope(scope);
    return this.store.list(scope);
  }

  async complete(scope: Scope, taskId: string): Promise<number> {
    requireScope(scope);
    requireId(taskId, "task_id");
    const cleared = await this.store.delete(scope, taskId);
    if (cleared === undefined) throw new NotFoundError("task", taskId);
    return cleared;
  }
}
