import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { limits } from "./limits.js";
import type { MemoryIntake } from "./memory-intake.js";
import type { MemorySettlement } from "./memory-settlement.js";
import type { ListCursor, LongTermStore, MemoryFilter } from "./ports.js";
import {
  withoutEmbedding,
  type Memory,
  type MemoryRecord,
  type MemoryVersion,
  type Metadata,
  type Scope,
} from "./types.js";
import {
  optionalText,
  requireId,
  requireIntInRange,
  requireMetadata,
  requireScope,
  requireText,
  requireUnitInterval,
} from "./validation.js";

/** One step of a memory's past: an earlier version of it, or a memory it superseded. */
export interface HistoryEntry extends MemoryVersion {
  /** The memory asked about for its own earlier versions; the superseded memory's id otherwise. */
  readonly memoryId: string;
}

export interface MemoryPatch {
  readonly content?: string;
  readonly importance?: number;
  readonly pinned?: boolean;
  readonly subject?: string;
  /** Replaces the metadata when set. */
  readonly metadata?: Metadata;
}

export interface MemoryPage {
  readonly memories: readonly Memory[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
}

/**
 * Seeing and correcting what Engram holds of a user: history, listing,
 * corrections. Writes go through settlement (the user's turn, history kept)
 * and intake's redaction; nothing here decides conflicts.
 */
export class MemoryManagement {
  constructor(
    private readonly store: LongTermStore,
    private readonly intake: MemoryIntake,
    private readonly settlement: MemorySettlement,
  ) {}

  /** The memory and what came before it, oldest first. */
  async history(scope: Scope, memoryId: string): Promise<{ memory: Memory; history: HistoryEntry[] }> {
    requireScope(scope);
    requireId(memoryId, "memory_id");
    const record = await this.store.get(scope, memoryId);
    if (!record) throw new NotFoundError("memory", memoryId);
    return { memory: withoutEmbedding(record), history: await this.timeline(scope, record) };
  }

  /** A record's earlier versions and the memories it superseded, by when each became true. */
  async timeline(scope: Scope, record: MemoryRecord): Promise<HistoryEntry[]> {
    const entries: HistoryEntry[] = (record.history ?? []).map((v) => ({ ...v, memoryId: record.id }));
    let after: ListCursor | undefined;
    for (;;) {
      const page = await this.store.list(scope, { supersededBy: record.id }, after, limits.listPageSizeMax);
      for (const old of page) {
        entries.push({
          memoryId: old.id,
          content: old.content,
          importance: old.importance,
          subject: old.subject,
          metadata: old.metadata,
          validFrom: old.occurredAt,
          validUntil: old.validUntil ?? record.occurredAt,
          replacedAt: old.updatedAt,
        });
      }
      if (page.length < limits.listPageSizeMax) break;
      after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
    }
    return entries.sort((a, b) => a.validFrom.getTime() - b.validFrom.getTime());
  }

  async list(scope: Scope, filter: MemoryFilter, pageSize: number, pageToken: string): Promise<MemoryPage> {
    requireScope(scope);
    validateFilter(filter, "filter");
    const size =
      pageSize === 0 ? limits.listPageSizeDefault : requireIntInRange(pageSize, "page_size", 1, limits.listPageSizeMax);
    const after = pageToken === "" ? undefined : decodePageToken(pageToken);
    // One more than asked, to know whether another page follows without an empty last page.
    const records = await this.store.list(scope, filter, after, size + 1);
    const page = records.slice(0, size);
    const last = page.at(-1);
    return {
      memories: page.map(withoutEmbedding),
      nextPageToken: records.length > size && last ? encodePageToken(last) : "",
    };
  }

  /**
   * Corrects a memory. New content is redacted like any write and
   * re-embedded; the previous version goes to the memory's history.
   */
  async update(scope: Scope, memoryId: string, patch: MemoryPatch, signal?: AbortSignal): Promise<Memory> {
    requireScope(scope);
    requireId(memoryId, "memory_id");
    if (Object.values(patch).every((v) => v === undefined)) {
      throw new InvalidArgumentError("memory_id", "the update names no field to change");
    }
    const content =
      patch.content === undefined
        ? undefined
        : this.intake.redact(requireText(patch.content, "content", limits.memoryContentBytes), "content");
    if (patch.importance !== undefined) requireUnitInterval(patch.importance, "importance");
    if (patch.subject !== undefined) optionalText(patch.subject, "subject", limits.subjectBytes);
    if (patch.metadata !== undefined) requireMetadata(patch.metadata, "metadata");
    // Subject and metadata (keys and values) are redacted like the content.
    const subject = patch.subject === undefined ? undefined : this.intake.redact(patch.subject, "subject");
    const metadata =
      patch.metadata === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(patch.metadata).map(([key, value]) => [
              this.intake.redact(key, "metadata (a key)"),
              this.intake.redact(value, `metadata["${key}"]`),
            ]),
          );
    const stored = await this.store.get(scope, memoryId);
    if (!stored) throw new NotFoundError("memory", memoryId);
    // The embedding (slow) is computed before the user's turn, from what the memory will say.
    const reembed = content !== undefined || (subject !== undefined && subject !== stored.subject);
    const embedding = reembed
      ? await this.settlement.embed(content ?? stored.content, subject ?? stored.subject, signal)
      : undefined;
    const updated = await this.settlement.revise(
      scope,
      memoryId,
      (current) => ({
        ...current,
        ...(content !== undefined ? { content } : {}),
        ...(embedding ? { embedding } : {}),
        ...(patch.importance !== undefined ? { importance: patch.importance } : {}),
        ...(patch.pinned !== undefined ? { pinned: patch.pinned } : {}),
        ...(subject !== undefined ? { subject } : {}),
        ...(metadata !== undefined ? { metadata } : {}),
      }),
      signal,
    );
    if (!updated) throw new NotFoundError("memory", memoryId);
    return updated;
  }
}

/** Checks a filter's fields, naming them under `field` (e.g. "filter.metadata"). */
export function validateFilter(filter: MemoryFilter, field: string): void {
  if (filter.subject !== undefined) optionalText(filter.subject, `${field}.subject`, limits.subjectBytes);
  if (filter.sourceSessionId !== undefined) requireId(filter.sourceSessionId, `${field}.source_session_id`);
  if (filter.metadata !== undefined) requireMetadata(filter.metadata, `${field}.metadata`);
  const range = (from: Date | undefined, before: Date | undefined, name: string) => {
    if (from && before && from.getTime() >= before.getTime()) {
      throw new InvalidArgumentError(`${field}.${name}_from`, `must be before ${field}.${name}_before`);
    }
  };
  range(filter.occurredFrom, filter.occurredBefore, "occurred");
  range(filter.createdFrom, filter.createdBefore, "created");
}

function encodePageToken(last: ListCursor): string {
  return Buffer.from(JSON.stringify({ c: last.createdAt.getTime(), i: last.id })).toString("base64url");
}

function decodePageToken(token: string): ListCursor {
  try {
    const { c, i } = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { c: unknown; i: unknown };
    if (typeof c === "number" && Number.isFinite(c) && typeof i === "string" && limits.idPattern.test(i)) {
      return { createdAt: new Date(c), id: i };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new InvalidArgumentError("page_token", "is not a token from a previous ListMemories response");
}
