import { InvalidArgumentError } from "./errors.js";
import { limits } from "./limits.js";
import type { LongTermMemory } from "./long-term-memory.js";
import { packContext, type PackCandidate, type SectionCandidates } from "./packing.js";
import type { ShortTermMemory } from "./short-term-memory.js";
import { countTokensEach } from "./tokenizer.js";
import { renderMessages } from "./context-rendering.js";
import type {
  AssemblySummary,
  ContextDocument,
  ContextFormat,
  ContextSection,
  RenderedContext,
  Scope,
  SectionKind,
} from "./types.js";
import { optionalText, requireId, requireIntInRange, requireScope, requireText } from "./validation.js";
import type { WorkingMemory } from "./working-memory.js";

export interface AssemblyRequest {
  readonly sessionId: string;
  readonly taskId: string;
  readonly query: string;
  readonly tokenBudget: number;
  readonly documents: readonly ContextDocument[];
  readonly memoryTopK: number;
  /** Sections of items (the default), or the whole context rendered as chat messages. */
  readonly format?: ContextFormat;
  /** Look without touching: the included memories are not counted as accessed. */
  readonly skipAccessTracking?: boolean;
}

export type AssemblyEvent =
  | { readonly kind: "section"; readonly section: ContextSection }
  | { readonly kind: "rendered"; readonly rendered: RenderedContext }
  | { readonly kind: "summary"; readonly summary: AssemblySummary };

/** First-pass budget shares; what a section leaves unused flows on to the others. */
export const sectionShares: Readonly<Record<SectionKind, number>> = {
  long_term_memories: 0.2,
  task_state: 0.15,
  documents: 0.35,
  conversation_history: 0.3,
};

/**
 * Builds LLM-ready context from every tier under a token budget. A session
 * or task that does not exist (or expired) contributes nothing rather than
 * failing the assembly: a gateway should still get the rest.
 */
export class ContextAssembler {
  constructor(
    private readonly shortTerm: ShortTermMemory,
    private readonly working: WorkingMemory,
    private readonly longTerm: LongTermMemory,
    /** Records the long-term memories placed (rank order) for ReportUsage; returns the retrieval id. */
    private readonly recordRetrieval: (scope: Scope, memoryIds: readonly string[]) => Promise<string> = () =>
      Promise.resolve(""),
  ) {}

  async *assemble(scope: Scope, request: AssemblyRequest, signal?: AbortSignal): AsyncGenerator<AssemblyEvent> {
    validate(scope, request);
    const [memories, task, session] = await Promise.all([
      request.query === ""
        ? []
        : this.longTerm.recall(
            scope,
            {
              purpose: "assemble",
              query: request.query,
              topK: request.memoryTopK,
              types: [],
              minScore: 0,
              includeSuperseded: false,
              skipAccessTracking: request.skipAccessTracking ?? false,
            },
            signal,
          ),
      request.taskId === "" ? undefined : this.working.peek(scope, request.taskId),
      request.sessionId === "" ? undefined : this.shortTerm.peek(scope, request.sessionId),
    ]);
    signal?.throwIfAborted();

    // Token counts are filled in below, all at once.
    const item = (id: string, content: string, priority: number): PackCandidate => ({
      id,
      content,
      priority,
      tokenCount: Number.NaN,
    });
    const sections: SectionCandidates[] = [
      {
        kind: "long_term_memories",
        share: sectionShares.long_term_memories,
        items: memories.map((m) => item(m.memory.id, `[${m.memory.type}] ${m.memory.content}`, m.score)),
      },
      {
        kind: "task_state",
        share: sectionShares.task_state,
        items: Object.entries(task?.entries ?? {}).map(([key, value], i) => item(key, `${key}: ${value}`, -i)),
      },
      {
        kind: "documents",
        share: sectionShares.documents,
        items: request.documents.map((d) => item(d.id, `[${d.source || d.id}] ${d.content}`, d.score)),
      },
      {
        kind: "conversation_history",
        share: sectionShares.conversation_history,
        // Newest message first, then the summary, then older turns newest first.
        contiguous: true,
        items: [
          ...(session?.summary
            ? [item("summary", session.summary.content, (session.messages.at(-1)?.sequence ?? 0) - 0.5)]
            : []),
          ...(session?.messages ?? []).map((m) => ({
            ...item(m.id, `${m.role}: ${m.content}`, m.sequence),
            turn: { role: m.role, content: m.content },
          })),
        ],
      },
    ];
    // Counted in one pass that yields between slices: the documents alone may be 6 MB of text.
    const counts = await countTokensEach(
      sections.flatMap((s) => s.items.map((i) => i.content)),
      signal,
    );
    let next = 0;
    const counted = sections.map((s) => ({ ...s, items: s.items.map((i) => ({ ...i, tokenCount: counts[next++]! })) }));
    const packed = packContext(counted, request.tokenBudget);
    if (request.format === "messages") {
      const messages = renderMessages(packed.sections);
      const tokens = await countTokensEach(
        messages.map((m) => m.content),
        signal,
      );
      yield { kind: "rendered", rendered: { messages, tokenCount: tokens.reduce((sum, n) => sum + n, 0) } };
    } else {
      for (const section of packed.sections) {
        signal?.throwIfAborted();
        if (section.items.length > 0) yield { kind: "section", section };
      }
    }
    // What the caller was given, in the order recall ranked it: the report is scored against that.
    const placed = new Set(packed.sections.find((s) => s.kind === "long_term_memories")?.items.map((i) => i.id));
    const retrievalId = await this.recordRetrieval(
      scope,
      memories.map((m) => m.memory.id).filter((id) => placed.has(id)),
    );
    yield {
      kind: "summary",
      summary: {
        totalTokens: packed.totalTokens,
        tokenBudget: request.tokenBudget,
        omitted: packed.omitted,
        retrievalId,
      },
    };
  }
}

function validate(scope: Scope, request: AssemblyRequest): void {
  requireScope(scope);
  if (request.sessionId !== "") requireId(request.sessionId, "session_id");
  if (request.taskId !== "") requireId(request.taskId, "task_id");
  optionalText(request.query, "query", limits.queryBytes);
  requireIntInRange(request.tokenBudget, "token_budget", 1, limits.tokenBudgetMax);
  requireIntInRange(request.memoryTopK, "memory_top_k", 0, limits.topKMax);
  if (request.documents.length > limits.documentsPerAssembly) {
    throw new InvalidArgumentError("documents", `must contain at most ${limits.documentsPerAssembly} documents`);
  }
  const seen = new Set<string>();
  request.documents.forEach((d, i) => {
    requireText(d.id, `documents[${i}].id`, limits.documentIdBytes);
    if (seen.has(d.id)) throw new InvalidArgumentError(`documents[${i}].id`, `duplicates "${d.id}"`);
    seen.add(d.id);
    requireText(d.content, `documents[${i}].content`, limits.documentContentBytes);
    optionalText(d.source, `documents[${i}].source`, limits.documentSourceBytes);
    if (!Number.isFinite(d.score)) throw new InvalidArgumentError(`documents[${i}].score`, "must be a finite number");
  });
}
