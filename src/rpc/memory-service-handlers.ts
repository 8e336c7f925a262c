import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Engram } from "../domain/engram.js";
import { authorize, type Permission } from "../domain/authorization.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { stageTimings } from "../observability/stage-timings.js";
import { callerKey } from "./authentication.js";
import {
  AssembleContextResponseSchema,
  ExportUserResponseSchema,
  type MemoryService,
} from "../gen/engram/v1/memory_service_pb.js";
import {
  exportItemToProto,
  historyEntryToProto,
  importItemFromProto,
  importResultToProto,
  memoryFilterFromProto,
  memoryPatchFromProto,
} from "./convert-management.js";
import {
  assemblySummaryToProto,
  contextFormatFromProto,
  documentFromProto,
  gateDecisionToProto,
  rememberOutcomeToProto,
  renderedContextToProto,
  memoryToProto,
  memoryTypeFromProto,
  messageInputFromProto,
  messageToProto,
  optionalDate,
  scopeFromProto,
  scoredMemoryToProto,
  sectionToProto,
  summaryToProto,
  workingStateToProto,
} from "./convert.js";
import { withinDeadline } from "./deadline.js";

/**
 * The MemoryService handlers: convert, call the domain, convert back.
 * Nothing here decides policy; domain errors are mapped to statuses once,
 * by `observeInterceptor` (observe-interceptor.ts) with `toConnectError`
 * (error-mapping.ts).
 */
export function memoryServiceHandlers(engram: Engram): ServiceImpl<typeof MemoryService> {
  /** The request's scope, once the caller is authorized for `permission` in its namespace. */
  const scopeOf = (
    request: { scope?: Parameters<typeof scopeFromProto>[0] },
    ctx: HandlerContext,
    permission: Permission,
  ) => {
    const scope = scopeFromProto(request.scope);
    if (!scope) throw new InvalidArgumentError("scope", "is required");
    authorize(ctx.values.get(callerKey), permission, scope.namespace);
    return scope;
  };
  const run = <T>(ctx: HandlerContext, work: () => Promise<T>) => withinDeadline(work(), ctx.signal);

  return {
    ping: async () => ({ serverTime: timestampFromDate(new Date()) }),

    appendMessages: (req, ctx) =>
      run(ctx, async () => {
        const scope = scopeOf(req, ctx, "write");
        const inputs = req.messages.map((m, i) => messageInputFromProto(m, `messages[${i}]`));
        const outcome = await engram.shortTerm.append(scope, req.sessionId, inputs, ctx.signal, req.idempotencyKey);
        return {
          messageIds: [...outcome.messageIds],
          tokenCount: outcome.tokenCount,
          messageCount: outcome.messageCount,
          compacted: outcome.compacted,
          replayed: outcome.replayed,
        };
      }),

    getMessages: (req, ctx) =>
      run(ctx, async () => {
        const snapshot = await engram.shortTerm.get(scopeOf(req, ctx, "read"), req.sessionId, req.limit);
        return {
          summary: summaryToProto(snapshot.summary),
          messages: snapshot.messages.map(messageToProto),
          tokenCount: snapshot.tokenCount,
        };
      }),

    endSession: (req, ctx) =>
      run(ctx, async () => {
        const ended = await engram.endSession(scopeOf(req, ctx, "write"), req.sessionId, ctx.signal);
        return { messageCount: ended.messageCount, decisions: ended.decisions.map(gateDecisionToProto) };
      }),

    setWorking: (req, ctx) =>
      run(ctx, async () => ({
        state: workingStateToProto(
          await engram.working.set(scopeOf(req, ctx, "write"), req.taskId, req.entries, req.ttlSeconds),
        ),
      })),

    getWorking: (req, ctx) =>
      run(ctx, async () => ({
        state: workingStateToProto(await engram.working.get(scopeOf(req, ctx, "read"), req.taskId)),
      })),

    listWorking: (req, ctx) =>
      run(ctx, async () => ({
        states: (await engram.working.list(scopeOf(req, ctx, "read"))).map(workingStateToProto),
      })),

    completeTask: (req, ctx) =>
      run(ctx, async () => ({ clearedEntries: await engram.working.complete(scopeOf(req, ctx, "write"), req.taskId) })),

    remember: (req, ctx) =>
      run(ctx, async () => {
        const scope = scopeOf(req, ctx, "write");
        // bypass_gate is what every Remember now does unless apply_gate asks otherwise: both is a contradiction.
        if (req.bypassGate && req.applyGate) {
          throw new InvalidArgumentError("apply_gate", "contradicts bypass_gate (deprecated); set only apply_gate");
        }
        const result = await engram.longTerm.remember(
          scope,
          {
            type: memoryTypeFromProto(req.type, "type"),
            content: req.content,
            importance: req.importance,
            metadata: { ...req.metadata },
            subject: req.subject,
            pinned: req.pinned,
            occurredAt: optionalDate(req.occurredAt, "occurred_at"),
            applyGate: req.applyGate,
            caller: ctx.values.get(callerKey).name,
          },
          ctx.signal,
        );
        return {
          memory: result.memory ? memoryToProto(result.memory) : undefined,
          outcome: rememberOutcomeToProto(result.outcome),
          supersededIds: [...result.supersededIds],
          decision: gateDecisionToProto(result.decision),
          redactions: [...result.redactions],
        };
      }),

    recall: (req, ctx) =>
      run(ctx, async () => {
        const started = stageTimings.begin();
        const scope = scopeOf(req, ctx, "read");
        const { memories, retrievalId } = await engram.recall(
          scope,
          {
            query: req.query,
            topK: req.topK,
            types: req.types.map((t, i) => memoryTypeFromProto(t, `types[${i}]`)),
            minScore: req.minScore,
            includeSuperseded: req.includeSuperseded,
            skipAccessTracking: req.skipAccessTracking,
            filter: memoryFilterFromProto(req.filter, "filter"),
            speakers: req.speakers,
          },
          ctx.signal,
        );
        const reply = { memories: memories.map(scoredMemoryToProto), retrievalId };
        stageTimings.end("recall handler", started);
        return reply;
      }),

    getMemory: (req, ctx) =>
      run(ctx, async () => {
        const scope = scopeOf(req, ctx, "read");
        if (!req.includeHistory) return { memory: memoryToProto(await engram.longTerm.get(scope, req.memoryId)) };
        const { memory, history } = await engram.longTerm.history(scope, req.memoryId);
        return { memory: memoryToProto(memory), history: history.map(historyEntryToProto) };
      }),

    memoryHistory: (req, ctx) =>
      run(ctx, async () => {
        const { memory, history } = await engram.longTerm.history(scopeOf(req, ctx, "read"), req.memoryId);
        return { memory: memoryToProto(memory), history: history.map(historyEntryToProto) };
      }),

    listMemories: (req, ctx) =>
      run(ctx, async () => {
        const page = await engram.longTerm.list(
          scopeOf(req, ctx, "read"),
          memoryFilterFromProto(req.filter, "filter"),
          req.pageSize,
          req.pageToken,
        );
        return { memories: page.memories.map(memoryToProto), nextPageToken: page.nextPageToken };
      }),

    updateMemory: (req, ctx) =>
      run(ctx, async () => ({
        memory: memoryToProto(
          await engram.longTerm.update(scopeOf(req, ctx, "write"), req.memoryId, memoryPatchFromProto(req), ctx.signal),
        ),
      })),

    importMemories: (req, ctx) =>
      run(ctx, async () => {
        const scope = scopeOf(req, ctx, "write");
        const items = req.memories.map(importItemFromProto);
        const outcomes = await engram.longTerm.importMemories(
          scope,
          items,
          { applyGate: req.applyGate, caller: ctx.values.get(callerKey).name },
          ctx.signal,
        );
        return { results: outcomes.map(importResultToProto) };
      }),

    async *exportUser(req, ctx) {
      for await (const item of engram.exportUser(scopeOf(req, ctx, "admin"), ctx.signal)) {
        yield create(ExportUserResponseSchema, { item: exportItemToProto(item) });
      }
    },

    forgetMemory: (req, ctx) =>
      run(ctx, async () => {
        await engram.longTerm.forget(scopeOf(req, ctx, "write"), req.memoryId);
        return {};
      }),

    forgetUser: (req, ctx) => run(ctx, () => engram.forgetUser(scopeOf(req, ctx, "admin"))),

    reportUsage: (req, ctx) =>
      run(ctx, async () => {
        const report = await engram.reportUsage(scopeOf(req, ctx, "read"), {
          retrievalId: req.retrievalId,
          returnedIds: req.returnedIds,
          usedIds: req.usedIds,
        });
        return {
          precision: report.precision,
          reciprocalRank: report.score?.reciprocalRank ?? 0,
          ndcg: report.score?.ndcg ?? 0,
          usedRanks: [...(report.score?.usedRanks ?? [])],
          counted: report.counted,
        };
      }),

    async *assembleContext(req, ctx) {
      const events = engram.assembler.assemble(
        scopeOf(req, ctx, "read"),
        {
          sessionId: req.sessionId,
          taskId: req.taskId,
          query: req.query,
          tokenBudget: req.tokenBudget,
          documents: req.documents.map(documentFromProto),
          memoryTopK: req.memoryTopK,
          format: contextFormatFromProto(req.format, "format"),
          skipAccessTracking: req.skipAccessTracking,
        },
        ctx.signal,
      );
      for (;;) {
        const next = await withinDeadline(events.next(), ctx.signal);
        if (next.done) return;
        const event = next.value;
        yield create(
          AssembleContextResponseSchema,
          event.kind === "section"
            ? { event: { case: "section", value: sectionToProto(event.section) } }
            : event.kind === "rendered"
              ? { event: { case: "rendered", value: renderedContextToProto(event.rendered) } }
              : { event: { case: "summary", value: assemblySummaryToProto(event.summary) } },
        );
      }
    },

    evictStale: (req, ctx) =>
      run(ctx, async () => {
        // One user's eviction is a write; a namespace's or everyone's is an admin's.
        authorize(ctx.values.get(callerKey), req.userId === "" ? "admin" : "write", req.namespace || undefined);
        const policy = req.policy;
        const report = await engram.evictStale(
          {
            namespace: req.namespace === "" ? undefined : req.namespace,
            userId: req.userId === "" ? undefined : req.userId,
          },
          {
            ...(policy?.scoreThreshold !== undefined ? { scoreThreshold: policy.scoreThreshold } : {}),
            ...(policy?.halfLifeHours !== undefined ? { halfLifeHours: policy.halfLifeHours } : {}),
            ...(policy?.minAgeHours !== undefined ? { minAgeHours: policy.minAgeHours } : {}),
            ...(policy?.maxAgeHours !== undefined ? { maxAgeHours: policy.maxAgeHours } : {}),
            ...(policy?.maxMemoriesPerUser !== undefined ? { maxMemoriesPerUser: policy.maxMemoriesPerUser } : {}),
          },
          { dryRun: req.dryRun, signal: ctx.signal },
        );
        return {
          scanned: BigInt(report.scanned),
          evicted: BigInt(report.evicted),
          evictedIds: [...report.evictedIds],
          dryRun: report.dryRun,
        };
      }),
  };
}
