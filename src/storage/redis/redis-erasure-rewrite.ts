import { Cluster, type Redis } from "ioredis";
import type { RedisClient } from "./lua-script.js";

/**
 * Erasure on Redis reaches its persistence files. Deleting a user's keys
 * removes them from memory, but the append-only file still holds every
 * command that wrote them, and an RDB snapshot the values, until Redis
 * rewrites those files. After an erasure (ForgetUser) this asks every
 * primary to rewrite them in the background: BGREWRITEAOF where AOF is on,
 * BGSAVE where snapshots are configured. Both are process-wide (a fork and a
 * full rewrite of the dataset), so erasures are coalesced: at most one
 * rewrite per interval, the first erasure after a quiet interval triggering
 * one at once and later ones sharing the next.
 */
/** Where the rewrite reports (the service's logger; storage imports no observability module). */
export interface ErasureRewriteLog {
  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

export class RedisErasureRewrite {
  private lastStartedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly intervalMs: number,
    private readonly logger: ErasureRewriteLog,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Something was erased: a rewrite is due (now, or at the end of the interval). */
  erased(): void {
    if (this.intervalMs === 0 || this.timer !== undefined) return;
    const at = nextRewriteAt(this.lastStartedAt, this.now(), this.intervalMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastStartedAt = this.now();
      this.running = this.rewrite();
    }, at - this.now());
    this.timer.unref();
  }

  /** Resolves once the rewrite requests in progress were sent (for tests and shutdown). */
  async settled(): Promise<void> {
    await this.running;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async rewrite(): Promise<void> {
    const nodes: Redis[] = this.client instanceof Cluster ? this.client.nodes("master") : [this.client];
    await Promise.all(nodes.map((node) => this.rewriteNode(node)));
  }

  private async rewriteNode(node: Redis): Promise<void> {
    const address = `${node.options.host ?? ""}:${node.options.port ?? ""}`;
    try {
      const aof = ((await node.config("GET", "appendonly")) as string[])[1] === "yes";
      const save = ((await node.config("GET", "save")) as string[])[1] ?? "";
      // SCHEDULE: if a rewrite is already running, Redis starts the snapshot after it rather than refusing.
      if (save.trim() !== "") await node.call("BGSAVE", "SCHEDULE");
      if (aof) await rewriteAof(node);
      this.logger.debug("redis erasure rewrite started", { node: address, aof, rdb: save.trim() !== "" });
    } catch (error) {
      // A managed Redis may refuse CONFIG or BGREWRITEAOF: the operator's part then (docs/redaction-and-erasure.md).
      this.logger.warn("redis erasure rewrite failed", {
        node: address,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

/**
 * A rewrite already running may have started before the erasure, so it may
 * still carry the erased keys: Redis refuses a second one meanwhile, so this
 * waits for it (up to a minute) and asks again.
 */
async function rewriteAof(node: Redis): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await node.call("BGREWRITEAOF");
      return;
    } catch (error) {
      const busy = error instanceof Error && /already in progress/i.test(error.message);
      if (!busy || attempt >= 60) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
    }
  }
}

/**
 * When the rewrite for an erasure at `erasedAt` runs: at once if none
 * started in the last interval, otherwise one interval after the last one.
 */
export function nextRewriteAt(lastStartedAt: number | undefined, erasedAt: number, intervalMs: number): number {
  if (lastStartedAt === undefined) return erasedAt;
  return Math.max(erasedAt, lastStartedAt + intervalMs);
}
