import type { LongTermMemory } from "../domain/long-term-memory.js";
import type { RecallSignals } from "../domain/memory-recall.js";
import { scoreProbe, type ProbeQueryResult, type ProbeRun, type ProbeSet } from "../domain/probe-set.js";
import type { Scope } from "../domain/types.js";

/** The metadata key that ties a stored probe memory to its key in the probe set. */
export const probeKeyField = "probe_key";

/**
 * Asks a labelled probe set's queries of live recall and scores the answers:
 * recall@k and reciprocal rank against the labels, per-query latency.
 *
 * The probe memories are written once into a reserved namespace (user
 * `probe.<set name>`), pinned so forgetting never takes them, and then left
 * alone: what the probe measures is whether recall still finds what was
 * written, so vectors from another embedder, a re-embedding left half done,
 * a broken lexical index or a stale backend show as a fall. They are
 * rewritten only when they differ from the probe set (first run, or an
 * operator's new set). Probe recalls skip access tracking and are labelled
 * purpose="probe", so they neither age nor count as application traffic.
 */
export class RecallProbe {
  readonly scope: Scope;
  private checked = false;

  constructor(
    private readonly longTerm: LongTermMemory,
    private readonly set: ProbeSet,
    private readonly options: { readonly namespace: string; readonly topK: number },
    private readonly now: () => number = () => performance.now(),
  ) {
    this.scope = { namespace: options.namespace, userId: `probe.${set.name}` };
  }

  async run(signal?: AbortSignal): Promise<ProbeRun> {
    const started = this.now();
    const seeded = this.checked ? false : await this.seed(signal);
    this.checked = true;
    const results = await this.ask("both", signal);
    const vector = await this.ask("vector", signal);
    const lexical = await this.ask("lexical", signal);
    return {
      probeSet: this.set.name,
      topK: this.options.topK,
      score: scoreProbe(results),
      results,
      bySignal: { vector: scoreProbe(vector), lexical: scoreProbe(lexical) },
      seeded,
      seconds: (this.now() - started) / 1000,
    };
  }

  /** Each query of the set asked of recall ranking by `signals`, scored against its labels. */
  private async ask(signals: RecallSignals, signal?: AbortSignal): Promise<ProbeQueryResult[]> {
    const results: ProbeQueryResult[] = [];
    for (const { query, relevant } of this.set.queries) {
      signal?.throwIfAborted();
      const asked = this.now();
      const memories = await this.longTerm.recall(
        this.scope,
        {
          purpose: "probe",
          query,
          topK: this.options.topK,
          types: [],
          minScore: 0,
          includeSuperseded: false,
          skipAccessTracking: true,
          signals,
        },
        signal,
      );
      const seconds = (this.now() - asked) / 1000;
      const keys = memories.map((m) => m.memory.metadata[probeKeyField]);
      const wanted = new Set(relevant);
      const firstIndex = keys.findIndex((k) => k !== undefined && wanted.has(k));
      results.push({
        relevant: wanted.size,
        found: new Set(keys.filter((k) => k !== undefined && wanted.has(k))).size,
        firstRank: firstIndex < 0 ? undefined : firstIndex + 1,
        seconds,
      });
    }
    return results;
  }

  /** Writes the probe memories unless exactly they are stored already. */
  private async seed(signal?: AbortSignal): Promise<boolean> {
    const stored = await this.longTerm.list(this.scope, { superseded: false }, 1000, "");
    const held = new Set(stored.memories.map((m) => `${m.metadata[probeKeyField]}\n${m.content}`));
    const wanted = this.set.memories.map((m) => `${m.key}\n${m.content}`);
    if (held.size === wanted.length && wanted.every((w) => held.has(w)) && stored.nextPageToken === "") return false;
    await this.longTerm.forgetUser(this.scope);
    await this.longTerm.importMemories(
      this.scope,
      this.set.memories.map((m) => ({
        type: m.type,
        content: m.content,
        importance: 1,
        metadata: { [probeKeyField]: m.key },
        subject: m.key,
        pinned: true,
        occurredAt: undefined,
        createdAt: undefined,
        lastAccessedAt: undefined,
        accessCount: 0,
      })),
      { applyGate: false, caller: "engram-probe" },
      signal,
    );
    return true;
  }
}
