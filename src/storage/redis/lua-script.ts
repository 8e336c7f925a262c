import { createHash } from "node:crypto";
import { SpanKind } from "@opentelemetry/api";
import type { Cluster, Redis } from "ioredis";
import { inSpan } from "../../observability/spans.js";
import { awaitReplicaAcknowledgement } from "./replica-acknowledgement.js";

export type RedisClient = Redis | Cluster;

/**
 * A Lua script run with EVALSHA, falling back to EVAL the first time a node
 * has not seen it (NOSCRIPT), so it works across Cluster nodes and restarts.
 * Scripts are how Engram makes each write one atomic server-side step.
 */
export class LuaScript {
  private readonly sha: string;

  constructor(
    readonly source: string,
    /** Names the script in traces (`redis <name>`). */
    readonly name = "script",
    /** A write is followed by the client's replica acknowledgement, if it has one. */
    readonly access: "read" | "write" = "write",
  ) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const attributes = { "db.system.name": "redis", "db.operation.name": "EVALSHA", "engram.key_count": keys.length };
    return inSpan(`redis ${this.name}`, SpanKind.CLIENT, attributes, async (span) => {
      let reply: unknown;
      try {
        reply = await client.evalsha(this.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
        span.setAttribute("db.operation.name", "EVAL");
        reply = await client.eval(this.source, keys.length, ...keys, ...args);
      }
      if (this.access === "write") await awaitReplicaAcknowledgement(client);
      return reply;
    });
  }
}
