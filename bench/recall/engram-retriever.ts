import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryType, RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { MessageInputSchema, Role } from "../../src/gen/engram/v1/short_term_pb.js";
import type { Conversation } from "./dataset.js";
import type { Retriever } from "./baselines.js";

/** How turns reach Engram: every turn stored as is, or through the write path (gate or extractor). */
export type IntakePath = "everything" | "write-path";

export interface LoadedConversation {
  readonly retriever: Retriever;
  /** Memories Engram keeps for the conversation (after merges and supersessions: live or not). */
  readonly memories: number;
  /** Turns the write gate did not keep, with the decision's reason (write path only). */
  readonly dropped: ReadonlyMap<string, string>;
  /** Milliseconds of each Recall call so far, measured at the client. */
  readonly latencies: number[];
}

/**
 * Loads one conversation into a running Engram through its public gRPC API
 * and answers questions with Recall. Memories are mapped back to the turns
 * they came from by the ids Engram's own replies give (Remember's memory, or
 * EndSession's per-message decisions), so a merge of two turns counts for both.
 */
export async function loadConversation(
  baseUrl: string,
  namespace: string,
  conversation: Conversation,
  path: IntakePath,
): Promise<LoadedConversation> {
  const client = createClient(MemoryService, createGrpcTransport({ baseUrl }));
  const scope = { namespace, userId: `user-${conversation.index}` };
  const turnsOf = new Map<string, string[]>();
  const dropped = new Map<string, string>();
  const note = (memoryId: string, turnId: string) => {
    if (memoryId) turnsOf.set(memoryId, [...(turnsOf.get(memoryId) ?? []), turnId]);
  };
  if (path === "everything") {
    for (const turn of conversation.turns) {
      const reply = await client.remember({
        scope,
        type: MemoryType.EPISODIC,
        // Remember has no speaker field: the name goes where a caller would put it, in the text.
        content: `${turn.speaker}: ${turn.content}`,
        occurredAt: timestampFromDate(turn.occurredAt),
        metadata: { turn: turn.id, speaker: turn.speaker },
      });
      if (reply.outcome !== RememberOutcome.DROPPED) note(reply.memory?.id ?? "", turn.id);
    }
  } else {
    const sessions = new Map<number, typeof conversation.turns>();
    for (const turn of conversation.turns) sessions.set(turn.session, [...(sessions.get(turn.session) ?? []), turn]);
    for (const [session, turns] of sessions) {
      const sessionId = `session-${session}`;
      const turnOfMessage = new Map<string, string>();
      for (let i = 0; i < turns.length; i += 100) {
        const chunk = turns.slice(i, i + 100);
        const reply = await client.appendMessages({
          scope,
          sessionId,
          messages: chunk.map((t) =>
            create(MessageInputSchema, {
              role: t.role === "user" ? Role.USER : Role.ASSISTANT,
              content: t.content,
              name: t.speaker,
              metadata: { turn: t.id, speaker: t.speaker },
              occurredAt: timestampFromDate(t.occurredAt),
            }),
          ),
        });
        reply.messageIds.forEach((id, j) => turnOfMessage.set(id, chunk[j]!.id));
      }
      const ended = await client.endSession({ scope, sessionId });
      for (const decision of ended.decisions) {
        const turn = turnOfMessage.get(decision.messageId) ?? "";
        if (decision.stored) note(decision.memoryId, turn);
        else dropped.set(turn, decision.reason);
      }
    }
  }
  const latencies: number[] = [];
  return { retriever: recallRetriever(client, scope, turnsOf, latencies), memories: turnsOf.size, dropped, latencies };
}

function recallRetriever(
  client: Client<typeof MemoryService>,
  scope: { namespace: string; userId: string },
  turnsOf: ReadonlyMap<string, string[]>,
  latencies: number[],
): Retriever {
  return {
    async rank(query, k) {
      // A benchmark looks without touching: access counts stay as loaded.
      const started = performance.now();
      const reply = await client.recall({ scope, query, topK: k, skipAccessTracking: true });
      latencies.push(performance.now() - started);
      const turns: string[] = [];
      for (const scored of reply.memories) {
        for (const turn of turnsOf.get(scored.memory?.id ?? "") ?? []) if (!turns.includes(turn)) turns.push(turn);
      }
      return turns;
    },
  };
}
