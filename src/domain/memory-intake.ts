import { InvalidArgumentError } from "./errors.js";
import { limits } from "./limits.js";
import type { MemorySettlement, WriteOutcome, WriteResult } from "./memory-settlement.js";
import { scanPii, type PiiKind } from "./pii.js";
import { timeSlicer } from "./time-slice.js";
import type { Memory, MemorySource, MemoryType, Metadata, Role, Scope, StoredMessage } from "./types.js";
import {
  byteLength,
  optionalText,
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
  /** The caller's type and importance (Remember); for a message the gate decides them. */
  readonly declared: { readonly type: MemoryType; readonly importance: number } | undefined;
  /** False when the caller decided it is worth keeping (the gate is skipped). */
  readonly gated: boolean;
}

interface IntakeResult {
  readonly decision: GateDecision;
  readonly written: WriteResult | undefined;
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
    private readonly settlement: MemorySettlement,
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
          source: { kind: "remember", sessionId: "", messageIds: [], caller: input.caller },
          declared: { type: input.type, importance },
          gated: input.applyGate,
        },
      ],
      "throw",
      signal,
    );
    const { decision, written, redactions } = result!;
    return {
      memory: written?.memory,
      outcome: decision.outcome,
      supersededIds: written?.supersededIds ?? [],
      decision,
      redactions,
    };
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
      declared: undefined,
      gated: true,
    }));
    const results = await this.intake(scope, candidates, "drop", signal);
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
      const pii = scanPii(candidate.content);
      if (pii.kinds.length > 0) {
        this.events.piiFound?.(pii.kinds, refuse);
        if (refuse && refusal === "throw") {
          throw new InvalidArgumentError(
            "content",
            `contains personal data or credentials (${pii.kinds.join(", ")}); this server refuses them (ENGRAM_PII_MODE=refuse)`,
          );
        }
      }
      scanned.push({ ...candidate, content: pii.redacted, redactions: pii.kinds });
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
    // Everything kept is embedded in one call (batched by the embedder), then settled in order.
    const kept = scanned.flatMap((candidate, i) => {
      const verdict = verdicts[i]!;
      if (!verdict.keep) return [];
      return [
        {
          type: verdict.type,
          content: candidate.content,
          importance: verdict.importance,
          metadata: candidate.metadata,
          subject: candidate.subject,
          pinned: candidate.pinned,
          occurredAt: candidate.occurredAt,
          source: candidate.source,
        },
      ];
    });
    const writes = (await this.settlement.writeMany(scope, kept, signal)).values();
    const results: IntakeResult[] = [];
    for (const [i, candidate] of scanned.entries()) {
      const verdict = verdicts[i]!;
      const base = {
        messageId: candidate.messageId,
        type: verdict.type,
        importance: verdict.importance,
        reason: verdict.reason,
        decidedBy: verdict.decidedBy,
      };
      if (!verdict.keep) {
        const decision: GateDecision = { ...base, stored: false, outcome: "dropped", memoryId: "" };
        this.events.gateDecided?.(decision);
        results.push({ decision, written: undefined, redactions: candidate.redactions });
        continue;
      }
      const written = writes.next().value!;
      const decision: GateDecision = { ...base, stored: true, outcome: written.outcome, memoryId: written.memory.id };
      this.events.gateDecided?.(decision);
      results.push({ decision, written, redactions: candidate.redactions });
    }
    return results;
  }

  /** Rules settle the clear cases; the classifier gets the ambiguous rest in one batch. */
  private async gate(
    candidates: readonly (Candidate & { readonly content: string })[],
    signal?: AbortSignal,
  ): Promise<Verdict[]> {
    const asGate = (c: Candidate): GateCandidate => ({
      id: c.messageId,
      role: c.role,
      content: c.content,
      metadata: c.metadata,
    });
    const rules: (GateVerdict | undefined)[] = candidates.map((c) => (c.gated ? gateByRules(asGate(c)) : undefined));
    const ambiguous = candidates.filter((_, i) => rules[i]?.action === "ambiguous").map(asGate);
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
      if (rule === undefined) return { keep: true, ...as("semantic", 0), reason: "bypassed", decidedBy: "caller" };
      if (rule.action === "store")
        return { keep: true, ...as(rule.type, rule.importance), reason: rule.reason, decidedBy: "rules" };
      if (rule.action === "drop") return { keep: false, ...as("semantic", 0), reason: rule.reason, decidedBy: "rules" };
      // Remember asks the classifier about one candidate, so its id ("") is unambiguous.
      const answer = answerFor.get(c.messageId);
      const decidedBy = this.classifier.decider ?? "model";
      const reason = (why: string) => (decidedBy === "model" ? `model:${why}` : why);
      if (answer?.store) {
        return { keep: true, ...as(answer.type, answer.importance), reason: reason(answer.reason), decidedBy };
      }
      return { keep: false, ...as("semantic", 0), reason: reason(answer?.reason ?? "unanswered"), decidedBy };
    });
  }
}
