import { create, type DescEnum } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../domain/errors.js";
import type * as domain from "../domain/types.js";
import { requireTimestampInRange } from "../domain/validation.js";
import {
  AssemblySummarySchema,
  ContextFormat,
  ContextFormatSchema,
  ContextSectionSchema,
  RenderedContextSchema,
  SectionKind,
  type Document,
} from "../gen/engram/v1/assembly_pb.js";
import type { GateDecision, RememberOutcome as DomainOutcome } from "../domain/memory-intake.js";
import {
  GateDecider,
  GateDecisionSchema,
  MemorySchema,
  MemorySourceKind,
  MemorySourceSchema,
  MemoryType,
  MemoryTypeSchema,
  RememberOutcome,
  ScoredMemorySchema,
} from "../gen/engram/v1/long_term_pb.js";
import type { Scope } from "../gen/engram/v1/scope_pb.js";
import {
  MessageSchema,
  Role,
  RoleSchema,
  SessionSummarySchema,
  type MessageInput,
} from "../gen/engram/v1/short_term_pb.js";
import { WorkingStateSchema } from "../gen/engram/v1/working_pb.js";

/**
 * Protobuf ↔ domain conversion: the only place that knows both. Enum values
 * outside the contract (proto3 enums are open) are rejected here, naming
 * the field.
 */

export function scopeFromProto(scope: Scope | undefined): domain.Scope | undefined {
  return scope ? { namespace: scope.namespace, userId: scope.userId } : undefined;
}

const roles = new Map<Role, domain.Role>([
  [Role.USER, "user"],
  [Role.ASSISTANT, "assistant"],
  [Role.SYSTEM, "system"],
  [Role.TOOL, "tool"],
]);
const roleValues = new Map([...roles].map(([k, v]) => [v, k]));

export function messageInputFromProto(input: MessageInput, field: string): domain.MessageInput {
  const role = roles.get(input.role);
  if (!role) throw new InvalidArgumentError(`${field}.role`, enumProblem(input.role, RoleSchema, roles));
  return {
    role,
    content: input.content,
    metadata: { ...input.metadata },
    occurredAt: optionalDate(input.occurredAt, `${field}.occurred_at`),
    // Only when given, so an append's idempotency fingerprint stays what it was without names.
    ...(input.name !== "" ? { name: input.name } : {}),
  };
}

const memoryTypes = new Map<MemoryType, domain.MemoryType>([
  [MemoryType.EPISODIC, "episodic"],
  [MemoryType.SEMANTIC, "semantic"],
  [MemoryType.PREFERENCE, "preference"],
]);
const memoryTypeValues = new Map([...memoryTypes].map(([k, v]) => [v, k]));

export function memoryTypeFromProto(type: MemoryType, field: string): domain.MemoryType {
  const value = memoryTypes.get(type);
  if (!value) throw new InvalidArgumentError(field, enumProblem(type, MemoryTypeSchema, memoryTypes));
  return value;
}

/**
 * What is wrong with an enum field, and the names it accepts: Connect's JSON
 * reads a name it does not know ("preference") as unset, so "is required"
 * alone would not tell a caller who did set the field what to send.
 */
function enumProblem(value: number, schema: DescEnum, accepted: ReadonlyMap<number, unknown>): string {
  const names = schema.values.filter((v) => accepted.has(v.number)).map((v) => v.name);
  return `${value === 0 ? "is required" : `has unknown value ${value}`}: one of ${names.join(", ")}`;
}

export function optionalDate(timestamp: Timestamp | undefined, field: string): Date | undefined {
  if (!timestamp) return undefined;
  // Seconds beyond what a Date holds give NaN: still out of range, with the same message.
  return requireTimestampInRange(timestampDate(timestamp), field);
}

export function documentFromProto(document: Document): domain.ContextDocument {
  return { id: document.id, content: document.content, source: document.source, score: document.score };
}

export function messageToProto(message: domain.StoredMessage) {
  return create(MessageSchema, {
    id: message.id,
    role: roleValues.get(message.role) ?? Role.UNSPECIFIED,
    content: message.content,
    metadata: { ...message.metadata },
    sequence: BigInt(message.sequence),
    tokenCount: message.tokenCount,
    createdAt: timestampFromDate(message.createdAt),
    occurredAt: timestampFromDate(message.occurredAt),
    name: message.name ?? "",
  });
}

export function summaryToProto(summary: domain.SessionSummary | undefined) {
  if (!summary) return undefined;
  return create(SessionSummarySchema, {
    content: summary.content,
    tokenCount: summary.tokenCount,
    summarizedThroughSequence: BigInt(summary.summarizedThroughSequence),
    summarizedMessageCount: BigInt(summary.summarizedMessageCount),
  });
}

export function workingStateToProto(state: domain.WorkingState) {
  return create(WorkingStateSchema, {
    taskId: state.taskId,
    entries: { ...state.entries },
    updatedAt: timestampFromDate(state.updatedAt),
    expiresAt: timestampFromDate(state.expiresAt),
  });
}

export function memoryToProto(memory: domain.Memory) {
  const optional = (date: Date | undefined) => (date ? timestampFromDate(date) : undefined);
  return create(MemorySchema, {
    id: memory.id,
    type: memoryTypeValues.get(memory.type) ?? MemoryType.UNSPECIFIED,
    content: memory.content,
    importance: memory.importance,
    metadata: { ...memory.metadata },
    subject: memory.subject,
    pinned: memory.pinned,
    occurredAt: timestampFromDate(memory.occurredAt),
    createdAt: timestampFromDate(memory.createdAt),
    updatedAt: timestampFromDate(memory.updatedAt),
    lastAccessedAt: optional(memory.lastAccessedAt),
    accessCount: BigInt(memory.accessCount),
    supersededBy: memory.supersededBy ?? "",
    validUntil: optional(memory.validUntil),
    source: create(MemorySourceSchema, {
      kind: sourceKinds[memory.source.kind],
      sessionId: memory.source.sessionId,
      messageIds: [...memory.source.messageIds],
      caller: memory.source.caller,
    }),
    speaker: memory.speaker ?? "",
  });
}

const sourceKinds: Record<domain.MemorySource["kind"], MemorySourceKind> = {
  remember: MemorySourceKind.REMEMBER,
  session: MemorySourceKind.SESSION,
  import: MemorySourceKind.IMPORT,
  unknown: MemorySourceKind.UNSPECIFIED,
};

export function scoredMemoryToProto(scored: domain.ScoredMemory) {
  return create(ScoredMemorySchema, {
    memory: memoryToProto(scored.memory),
    score: scored.score,
    relevance: scored.relevance,
  });
}

const sectionKinds: Record<domain.SectionKind, SectionKind> = {
  long_term_memories: SectionKind.LONG_TERM_MEMORIES,
  task_state: SectionKind.TASK_STATE,
  documents: SectionKind.DOCUMENTS,
  conversation_history: SectionKind.CONVERSATION_HISTORY,
};

export function sectionToProto(section: domain.ContextSection) {
  return create(ContextSectionSchema, {
    kind: sectionKinds[section.kind],
    items: section.items.map((i) => ({ id: i.id, content: i.content, tokenCount: i.tokenCount })),
    tokenCount: section.tokenCount,
  });
}

const formats = new Map<ContextFormat, domain.ContextFormat>([
  [ContextFormat.UNSPECIFIED, "items"],
  [ContextFormat.ITEMS, "items"],
  [ContextFormat.MESSAGES, "messages"],
]);

export function contextFormatFromProto(format: ContextFormat, field: string): domain.ContextFormat {
  const value = formats.get(format);
  if (!value) throw new InvalidArgumentError(field, enumProblem(format, ContextFormatSchema, formats));
  return value;
}

export function renderedContextToProto(rendered: domain.RenderedContext) {
  return create(RenderedContextSchema, {
    messages: rendered.messages.map((m) => ({ role: roleValues.get(m.role) ?? Role.UNSPECIFIED, content: m.content })),
    tokenCount: rendered.tokenCount,
  });
}

export function assemblySummaryToProto(summary: domain.AssemblySummary) {
  return create(AssemblySummarySchema, {
    totalTokens: summary.totalTokens,
    tokenBudget: summary.tokenBudget,
    omitted: summary.omitted.map((o) => ({ section: sectionKinds[o.section], id: o.id, tokenCount: o.tokenCount })),
    retrievalId: summary.retrievalId,
  });
}

const outcomes: Record<DomainOutcome, RememberOutcome> = {
  created: RememberOutcome.CREATED,
  merged: RememberOutcome.MERGED,
  updated: RememberOutcome.UPDATED,
  superseded_older: RememberOutcome.SUPERSEDED_OLDER,
  stored_as_history: RememberOutcome.STORED_AS_HISTORY,
  dropped: RememberOutcome.DROPPED,
};

export function rememberOutcomeToProto(outcome: DomainOutcome): RememberOutcome {
  return outcomes[outcome];
}

const deciders: Record<GateDecision["decidedBy"], GateDecider> = {
  rules: GateDecider.RULES,
  model: GateDecider.MODEL,
  caller: GateDecider.CALLER,
};

export function gateDecisionToProto(decision: GateDecision) {
  return create(GateDecisionSchema, {
    messageId: decision.messageId,
    stored: decision.stored,
    type: memoryTypeValues.get(decision.type) ?? MemoryType.UNSPECIFIED,
    importance: decision.importance,
    reason: decision.reason,
    decidedBy: decision.decidedBy,
    outcome: outcomes[decision.outcome],
    memoryId: decision.memoryId,
    decider: deciders[decision.decidedBy],
    supersededIds: [...decision.supersededIds],
  });
}
