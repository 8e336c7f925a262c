import { InvalidArgumentError, type EngramError } from "./errors.js";
import { limits } from "./limits.js";
import type { GatedMemory, MemorySettlement, WriteOutcome, WriteResult } from "./memory-settlement.js";
import type { ExtractedStatement } from "./models.js";
import { scanPii, type PiiKind } from "./pii.js";
import { timeSlicer } from "./time-slice.js";
import type { Memory, MemorySource, MemoryType, Metadata, Role, Scope, StoredMessage } from "./types.js";
import {
  byteLength,
  optionalText,
  requireIntInRange,
  requireMetadata,
  requireNotFuture,
  requireScope,
  requireText,
  requireUnitInterval,
} from "./validation.js";
import { gateByRules, type GateCandidate, type GateClassifier, type GateVerdict } from "./write-gate.js";

export interface RememberInput {
  readonly type: MemoryType;
  readonly content: string;
  readonly importance: number | undefined;
  readonly metadata: Metadata;
  readonly subject: string;
  readonly pinned: boolean;
  readonly occurredAt: Date | undefined;
  /**
   * Ask the write gate whether it is worth keeping. Off, the caller's word
   * stands: personal data is still redacted (or refused), duplicates and
   * conflicts still settled.
   */
  readonly applyGate: boolean;
  /** Who writes it (the authenticated caller's name), recorded as its source. */
  readonly caller: string;
}

export type RememberOutcome = WriteOutcome | "dropped";

/** One memory of ImportMemories, as it was in its source system. */
export interface ImportItem {
  readonly type: MemoryType;
  readonly content: string;
  readonly importance: number | undefined;
  readonly metadata: Metadata;
  readonly subject: string;
  readonly pinned: boolean;
  readonly occurredAt: Date | undefined;
  readonly createdAt: Date | undefined;
  readonly lastAccessedAt: Date | undefined;
  readonly accessCount: number;
}

export interface ImportOutcome {
  readonly decision: GateDecision;
  readonly written: WriteResult | undefined;
  /** Why a limit or the backend refused it; empty otherwise. */
  readonly error: string;
}

export interface GateDecision {
  /** The session message it is about; empty for Remember. */
  readonly messageId: string;
  readonly stored: boolean;
  readonly type: MemoryType;
  readonly importance: number;
  readonly reason: string;
  readonly decidedBy: "rules" | "model" | "caller";
  readonly outcome: RememberOutcome;
  readonly memoryId: string;
  /** Older memories the stored one superseded: a session's settlements are explained by its decisions alone. */
  readonly supersededIds: readonly string[];
}

export interface RememberResult {
  readonly memory: Memory | undefined;
  readonly outcome: RememberOutcome;
  readonly supersededIds: readonly string[];
  readonly decision: GateDecision;
  readonly redactions: readonly PiiKind[];
}

export interface IntakeOptions {
  /** "redact" replaces personal data and credentials; "refuse" rejects the memory. */
  readonly piiMode: "redact" | "refuse";
}

/** What intake reports besides its return values (metrics). */
export interface IntakeEvents {
  gateDecided?(decision: GateDecision): void;
  piiFound?(kinds: readonly PiiKind[], refused: boolean): void;
}

const defaultImportance = 0.5;

/** One candidate memory entering intake: a Remember call or a session message. */
interface Candidate {
  /** The session message it comes from; empty for Remember. */
  readonly messageId: string;
  readonly role: Role;
  readonly content: string;
  readonly metadata: Metadata;
  readonly subject: string;
  readonly pinned: boolean;
  readonly occurredAt: Date;
  readonly source: MemorySource;
  /** Who said it (a message's name); absent for Remember, imports or an unnamed message. */
  readonly speaker?: string | undefined;
  /** The caller's type and importance (Remember); for a message the gate decides them. */
  readonly declared: { readonly type: MemoryType; readonly importance: number } | undefined;
  /** False when the caller decided it is worth keeping (the gate is skipped). */
  readonly gated: boolean;
  /** Who decided it is worth keeping, when the gate is skipped: the caller unless a model extracted it. */
  readonly decidedBy?: { readonly by: GateDecision["decidedBy"]; readonly reason: string };
  /** An imported memory's record in its source system. */
  readonly imported?: Pick<GatedMemory, "createdAt" | "lastAccessedAt" | "accessCount">;
  /** A model's judgement of which current memories it repeats, refines or contradicts. */
  readonly judged?: GatedMemory["judged"];
  /** The caller stated no time (`occurredAt` is the receipt time): it happens when settled. */
  readonly undated?: boolean;
}

interface IntakeResult {
  readonly decision: GateDecision;
  /** What settlement wrote, or the error that refused this item (e.g. the user's memory limit). */
  readonly written: WriteResult | EngramError | undefined;
  readonly redactions: readonly PiiKind[];
}

/** What the gate settled for one candidate: keep it as this, or drop it for this reason. */
type Verdict =
  | { keep: true; type: MemoryType; importance: number; reason: string; decidedBy: GateDecision["decidedBy"] }
  | { keep: false; type: MemoryType; importance: number; reason: string; decidedBy: GateDecision["decidedBy"] };

/**
 * Everything that becomes a long-term memory enters here, through one
 * pipeline: redact (or refuse) personal data, then the write gate (rules,
 * then the classifier for the ambiguous rest, batched), then settlement.
 * Redaction comes first so raw personal data never reaches a model.
 */
export class MemoryIntake {
  constructor(
    private readonly settlement: Pick<MemorySettlement, "writeMany">,
    private readonly classifier: GateClassifier,
    private readonly options: IntakeOptions,
    private readonly events: IntakeEvents = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** An explicit write by the caller. */
  async remember(scope: Scope, input: RememberInput, signal?: AbortSignal): Promise<RememberResult> {
    requireScope(scope);
    requireText(input.content, "content", limits.memoryContentBytes);
    const importance = requireUnitInterval(input.importance ?? defaultImportance, "importance");
    requireMetadata(input.metadata, "metadata");
    optionalText(input.subject, "subject", limits.subjectBytes);
    const now = this.clock();
    requireNotFuture(input.occurredAt, "occurred_at", now);
    const [result] = await this.intake(
      scope,
      [
        {
          messageId: "",
          role: "user",
          content: input.content,
          metadata: input.metadata,
          subject: input.subject,
          pinned: input.pinned,
          occurredAt: input.occurredAt ?? now,
          undated: input.occurredAt === undefined,
          source: { kind: "remember", sessionId: "", messageIds: [], caller: input.caller },
          declared: { type: input.type, importance },
          gated: input.applyGate,
        },
      ],
      "throw",
      signal,
    );
    const { decision, written, redactions } = result!;
    if (written instanceof Error) throw written;
    return {
      memory: written?.memory,
      outcome: decision.outcome,
      supersededIds: decision.supersededIds,
      decision,
      redactions,
    };
  }

  /**
   * Memories from another system, with their original times and usage.
   * Structural errors reject the call naming the item's field; everything
   * else is per item (dropped by the gate or the personal-data policy,
   * refused by a limit). Settled as one batch, in occurrence order.
   */
  async importMemories(
    scope: Scope,
    items: readonly ImportItem[],
    options: { readonly applyGate: boolean; readonly caller: string },
    signal?: AbortSignal,
  ): Promise<ImportOutcome[]> {
    requireScope(scope);
    if (items.length === 0) throw new InvalidArgumentError("memories", "must hold at least one memory");
    if (items.length > limits.importBatchMax) {
      throw new InvalidArgumentError("memories", `must hold at most ${limits.importBatchMax} memories per call`);
    }
    const { applyGate, caller } = options;
    const now = this.clock();
    const candidates = items.map((item, i): Candidate => {
      const field = (name: string) => `memories[${i}].${name}`;
      requireText(item.content, field("content"), limits.memoryContentBytes);
      const importance = requireUnitInterval(item.importance ?? defaultImportance, field("importance"));
      requireMetadata(item.metadata, field("metadata"));
      optionalText(item.subject, field("subject"), limits.subjectBytes);
      requireIntInRange(item.accessCount, field("access_count"), 0, 1_000_000);
      const notFuture = (date: Date | undefined, name: string) => {
        requireNotFuture(date, field(name), now);
        if (date && date.getTime() < 0) throw new InvalidArgumentError(field(name), "must not be before 1970");
      };
      notFuture(item.occurredAt, "occurred_at");
      notFuture(item.createdAt, "created_at");
      notFuture(item.lastAccessedAt, "last_accessed_at");
      const createdAt = item.createdAt ?? now;
      if (item.lastAccessedAt && item.lastAccessedAt.getTime() < createdAt.getTime()) {
        throw new InvalidArgumentError(field("last_accessed_at"), "must not be before created_at");
      }
      return {
        messageId: "",
        role: "user",
        content: item.content,
        metadata: item.metadata,
        subject: item.subject,
        pinned: item.pinned,
        occurredAt: item.occurredAt ?? createdAt,
        undated: item.occurredAt === undefined && item.createdAt === undefined,
        declared: { type: item.type, importance },
        gated: applyGate,
        source: { kind: "import", sessionId: "", messageIds: [], caller },
        imported: {
          createdAt,
          accessCount: item.accessCount,
          ...(item.lastAccessedAt ? { lastAccessedAt: item.lastAccessedAt } : {}),
        },
      };
    });
    const results = await this.intake(scope, candidates, "drop", signal);
    return results.map(({ decision, written }) =>
      written instanceof Error
        ? { decision, written: undefined, error: written.message }
        : { decision, written, error: "" },
    );
  }

  /** Content a caller writes outside intake (a correction), redacted or refused like any write. */
  redact(content: string, field: string): string {
    const pii = scanPii(content);
    if (pii.kinds.length === 0) return content;
    const refuse = this.options.piiMode === "refuse";
    this.events.piiFound?.(pii.kinds, refuse);
    if (refuse) {
      throw new InvalidArgumentError(
        field,
        `contains personal data or credentials (${pii.kinds.join(", ")}); this server refuses them (ENGRAM_PII_MODE=refuse)`,
      );
    }
    return pii.redacted;
  }

  /** A session's messages through the gate: one decision per message, in session order. */
  async extract(
    scope: Scope,
    sessionId: string,
    messages: readonly StoredMessage[],
    signal?: AbortSignal,
  ): Promise<GateDecision[]> {
    const candidates = messages.map((m): Candidate => ({
      messageId: m.id,
      role: m.role,
      content: m.content,
      metadata: m.metadata,
      subject: "",
      pinned: false,
      occurredAt: m.occurredAt,
      source: { kind: "session", sessionId, messageIds: [m.id], caller: "" },
      speaker: m.name,
      declared: undefined,
      gated: true,
    }));
    const results = await this.intake(scope, candidates, "drop", signal);
    const refused = results.find((r) => r.written instanceof Error);
    if (refused) throw refused.written;
    return results.map((r) => r.decision);
  }

  /**
   * Standalone statements a model extracted from a session's messages (the
   * messages were redacted before the model saw them), settled like any
   * memory; one decision per statement, about its first message. `messages`
   * holds the batch by id: when and by whom each was said.
   */
  async learnStatements(
    scope: Scope,
    sessionId: string,
    statements: readonly ExtractedStatement[],
    messages: ReadonlyMap<string, Pick<StoredMessage, "occurredAt" | "name">>,
    signal?: AbortSignal,
  ): Promise<GateDecision[]> {
    const now = this.clock();
    const candidates = statements.map((statement): Candidate => {
      const sources = statement.messageIds.map((id) => messages.get(id));
      // When the model says it happened, else when the latest of its messages was said.
      const said = Math.max(...sources.map((m) => m?.occurredAt.getTime() ?? 0));
      const when = statement.occurredAt && statement.occurredAt <= now ? statement.occurredAt : new Date(said || now);
      // A statement drawn from two people's words (or from a message we cannot place) has no one speaker.
      const speakers = new Set(sources.map((m) => m?.name || undefined));
      const speaker = speakers.size === 1 ? [...speakers][0] : undefined;
      return {
        messageId: statement.messageIds[0] ?? "",
        role: "user",
        content: statement.content,
        metadata: {},
        subject: statement.subject,
        pinned: false,
        occurredAt: when,
        source: { kind: "session", sessionId, messageIds: [...statement.messageIds], caller: "" },
        speaker,
        declared: { type: statement.type, importance: statement.importance },
        gated: false,
        decidedBy: { by: "model", reason: "model:extracted" },
        ...(statement.relation && statement.relation.memoryIds.length > 0 ? { judged: statement.relation } : {}),
      };
    });
    const results = await this.intake(scope, candidates, "drop", signal);
    const refused = results.find((r) => r.written instanceof Error);
    if (refused) throw refused.written;
    return results.map((r) => r.decision);
  }

  /**
   * The pipeline. `refusal` says what personal data does under
   * ENGRAM_PII_MODE=refuse: a caller's write is rejected (the caller can fix
   * it); a session message is dropped (nobody is there to fix it).
   */
  private async intake(
    scope: Scope,
    candidates: readonly Candidate[],
    refusal: "throw" | "drop",
    signal?: AbortSignal,
  ): Promise<IntakeResult[]> {
    const refuse = this.options.piiMode === "refuse";
    // A session may hold thousands of 32 KiB messages: scan them in time slices.
    const pause = timeSlicer(signal);
    const scanned: (Candidate & { readonly redactions: readonly PiiKind[] })[] = [];
    for (const candidate of candidates) {
      await pause();
      // Content, subject, every metadata key and value, the speaker's name: personal data is
      // refused or redacted wherever it is written.
      const entries = Object.entries(candidate.metadata);
      const fields: [field: string, text: string][] = [
        ["content", candidate.content],
        ["subject", candidate.subject],
        ["name", candidate.speaker ?? ""],
        ...entries.map(([key]): [string, string] => ["metadata (a key)", key]),
        ...entries.map(([key, value]): [string, string] => [`metadata["${key}"]`, value]),
      ];
      const found = fields.map(([field, text]) => ({ field, scan: scanPii(text) }));
      const kinds = [...new Set(found.flatMap((f) => f.scan.kinds))];
      if (kinds.length > 0) {
        this.events.piiFound?.(kinds, refuse);
        const first = found.find((f) => f.scan.kinds.length > 0)!;
        if (refuse && refusal === "throw") {
          throw new InvalidArgumentError(
            first.field,
            `contains personal data or credentials (${first.scan.kinds.join(", ")}); this server refuses them (ENGRAM_PII_MODE=refuse)`,
          );
        }
      }
      const [content, subject, speaker, ...rest] = found.map((f) => f.scan.redacted);
      const metadata = Object.fromEntries(entries.map((_, i) => [rest[i]!, rest[entries.length + i]!]));
      scanned.push({
        ...candidate,
        content: content!,
        subject: subject!,
        metadata,
        ...(candidate.speaker ? { speaker: speaker! } : {}),
        redactions: kinds,
      });
    }
    const verdicts = (await this.gate(scanned, signal)).map((verdict, i) => {
      const candidate = scanned[i]!;
      if (verdict.keep && refuse && candidate.redactions.length > 0)
        return { ...verdict, keep: false, reason: "pii-refused" };
      // A message may be 32 KiB, a memory at most 8 KiB (Remember's content is checked on entry).
      if (verdict.keep && candidate.messageId !== "" && byteLength(candidate.content) > limits.memoryContentBytes) {
        return { ...verdict, keep: false, reason: "too-long" };
      }
      return verdict;
    });
    const kept = verdicts.flatMap((verdict, i) => (verdict.keep ? [i] : []));
    // Everything kept settles as one batch: one embedding call (batched by the embedder), one bulk
    // insert, in occurrence order.
    const written = await this.settlement.writeMany(
      scope,
      kept.map((i) => {
        const candidate = scanned[i]!;
        const verdict = verdicts[i]!;
        return {
          type: verdict.type,
          content: candidate.content,
          importance: verdict.importance,
          metadata: candidate.metadata,
          subject: candidate.subject,
          pinned: candidate.pinned,
          occurredAt: candidate.occurredAt,
          source: candidate.source,
          speaker: candidate.speaker,
          ...candidate.imported,
          ...(candidate.judged ? { judged: candidate.judged } : {}),
          ...(candidate.undated ? { undated: true } : {}),
        };
      }),
      signal,
    );
    const writtenFor = new Map(kept.map((candidateIndex, i) => [candidateIndex, written[i]!]));
    return scanned.map((candidate, i): IntakeResult => {
      const verdict = verdicts[i]!;
      const base = {
        messageId: candidate.messageId,
        type: verdict.type,
        importance: verdict.importance,
        reason: verdict.reason,
        decidedBy: verdict.decidedBy,
      };
      const result = writtenFor.get(i);
      if (!verdict.keep || result === undefined) {
        const decision: GateDecision = { ...base, stored: false, outcome: "dropped", memoryId: "", supersededIds: [] };
        this.events.gateDecided?.(decision);
        return { decision, written: undefined, redactions: candidate.redactions };
      }
      if (result instanceof Error) {
        const decision: GateDecision = { ...base, stored: false, outcome: "dropped", memoryId: "", supersededIds: [] };
        return { decision, written: result, redactions: candidate.redactions };
      }
      const decision: GateDecision = {
        ...base,
        stored: true,
        outcome: result.outcome,
        memoryId: result.memory.id,
        supersededIds: result.supersededIds,
      };
      this.events.gateDecided?.(decision);
      return { decision, written: result, redactions: candidate.redactions };
    });
  }

  /** Rules settle the clear cases; the classifier gets the ambiguous rest in one batch. */
  private async gate(
    candidates: readonly (Candidate & { readonly content: string })[],
    signal?: AbortSignal,
  ): Promise<Verdict[]> {
    // Classifier answers are matched by the candidate's position in this call: a message id is
    // provenance only (Remember and imports have none, so every such item would share one key).
    const asGate = (c: Candidate, i: number): GateCandidate => ({
      id: String(i),
      role: c.role,
      content: c.content,
      metadata: c.metadata,
    });
    // The rules run a few dozen expressions over up to 32 KiB per message, and a session's batch
    // has no fixed size: in time slices, like the scan above.
    const pause = timeSlicer(signal);
    const rules: (GateVerdict | undefined)[] = [];
    for (const [i, c] of candidates.entries()) {
      await pause();
      rules.push(c.gated ? gateByRules(asGate(c, i)) : undefined);
    }
    const ambiguous = candidates.flatMap((c, i) => (rules[i]?.action === "ambiguous" ? [asGate(c, i)] : []));
    const answers = ambiguous.length > 0 ? await this.classifier.classify(ambiguous, signal) : [];
    const answerFor = new Map(answers.map((a) => [a.id, a]));
    return candidates.map((c, i): Verdict => {
      const rule = rules[i];
      const declared = c.declared;
      // The caller's type and importance win over the gate's guess.
      const as = (type: MemoryType, importance: number) => ({
        type: declared?.type ?? type,
        importance: declared?.importance ?? importance,
      });
      if (rule === undefined) {
        const by = c.decidedBy ?? { by: "caller", reason: "bypassed" };
        return { keep: true, ...as("semantic", 0), reason: by.reason, decidedBy: by.by };
      }
      if (rule.action === "store")
        return { keep: true, ...as(rule.type, rule.importance), reason: rule.reason, decidedBy: "rules" };
      if (rule.action === "drop") return { keep: false, ...as("semantic", 0), reason: rule.reason, decidedBy: "rules" };
      const answer = answerFor.get(String(i));
      const decidedBy = this.classifier.decider ?? "model";
      const reason = (why: string) => (decidedBy === "model" ? `model:${why}` : why);
      if (answer?.store) {
        return { keep: true, ...as(answer.type, answer.importance), reason: reason(answer.reason), decidedBy };
      }
      return { keep: false, ...as("semantic", 0), reason: reason(answer?.reason ?? "unanswered"), decidedBy };
    });
  }
}
