import type { Scope } from "../../domain/types.js";

/**
 * Redis key layout. Every key of a user carries the same hash tag,
 * `{namespace/user}`, so a user's sessions, tasks and their indexes live in
 * one Redis Cluster slot and each multi-key script runs atomically on one
 * node. Identifiers are validated to exclude braces, so the tag is exact.
 *
 *   <prefix>:{ns/user}:s:<session>:meta   hash   counters and summary
 *   <prefix>:{ns/user}:s:<session>:msgs   list   "<seq>:<tokens>:<json>"
 *   <prefix>:{ns/user}:sessions           set    session ids (ForgetUser)
 *   <prefix>:{ns/user}:t:<task>           hash   "e:<key>" entries, "m:updated"
 *   <prefix>:{ns/user}:tasks              zset   task ids by last update
 *   <prefix>:{ns/user}:lock:write         string the user's long-term write lock
 *   <prefix>:{ns/user}:s:<session>:lease  string the session's learning lease
 *   <prefix>:{ns/user}:retrievals         hash   retrievals kept for ReportUsage
 *   <prefix>:{ns/user}:retrievals:by-t    zset   their ids by creation time
 *   <prefix>:learning                     stream background learning jobs (group "learners")
 *   <prefix>:idle                         zset   sessions by last append (the idle sweep)
 */
export class RedisKeys {
  constructor(private readonly prefix: string) {}

  private user(scope: Scope): string {
    return `${this.prefix}:{${scope.namespace}/${scope.userId}}`;
  }

  sessionMeta(scope: Scope, sessionId: string): string {
    return `${this.user(scope)}:s:${sessionId}:meta`;
  }

  sessionMessages(scope: Scope, sessionId: string): string {
    return `${this.user(scope)}:s:${sessionId}:msgs`;
  }

  sessionIndex(scope: Scope): string {
    return `${this.user(scope)}:sessions`;
  }

  task(scope: Scope, taskId: string): string {
    return `${this.user(scope)}:t:${taskId}`;
  }

  taskIndex(scope: Scope): string {
    return `${this.user(scope)}:tasks`;
  }

  sessionLease(scope: Scope, sessionId: string): string {
    return `${this.user(scope)}:s:${sessionId}:lease`;
  }

  /** Not tagged by user: one stream and one index for the whole deployment. */
  learningStream(): string {
    return `${this.prefix}:learning`;
  }

  idleIndex(): string {
    return `${this.prefix}:idle`;
  }

  retrievals(scope: Scope): string {
    return `${this.user(scope)}:retrievals`;
  }

  retrievalTimes(scope: Scope): string {
    return `${this.user(scope)}:retrievals:by-t`;
  }

  writeLock(scope: Scope): string {
    return `${this.user(scope)}:lock:write`;
  }
}
