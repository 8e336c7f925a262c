import { createHash } from "node:crypto";
import { Filters, type Collection, type FilterValue, type WeaviateClient } from "weaviate-client";
import type { EvictionBand, EvictionCandidate } from "../../domain/forgetting.js";
import type { MemoryRecord, MemorySource, MemoryType, Metadata, Scope } from "../../domain/types.js";
import { parseMemoryHistory } from "../memory-history.js";
import { cosine } from "../../domain/vectors.js";
import type {
  BulkInsertResult,
  CandidateSearch,
  CandidateHit,
  ListCursor,
  LongTermStore,
  MemoryFilter,
  MemoryHit,
  MemorySearch,
  RecallCandidates,
} from "../../domain/ports.js";
import { UnavailableError } from "../../domain/errors.js";
import { AccessWriteIncomplete } from "../../domain/pending-access.js";
import { stageTimings, type Stage } from "../../observability/stage-timings.js";
import { isNotFound, isTenantNotFound, translateWeaviateErrors } from "./weaviate-errors.js";
import { descriptionOf, embedderIn } from "./weaviate-schema.js";
import type { WeaviateUserRegistry } from "./weaviate-user-registry.js";
import type { WeaviateTenantSleep } from "./weaviate-tenant-sleep.js";
import type { ConsistencyLevel } from "./weaviate-replication.js";

export interface WeaviateStoreOptions {
  /**
   * False while the last health check failed. Calls then fail fast with
   * UNAVAILABLE instead of spending the caller's deadline on the client's
   * own connection retries.
   */
  readonly reachable: () => boolean;
  /** Objects per batch request for bulk writes. */
  readonly batchSize: number;
  /** Which users hold memories, per namespace. */
  readonly registry: WeaviateUserRegistry;
  /** Told of every tenant a call uses, so idle ones can be put to sleep. */
  readonly tenantSleep?: WeaviateTenantSleep;
  /** The consistency level of every read and write (default QUORUM; see weaviate-replication.ts). */
  readonly consistency?: ConsistencyLevel;
}

type Properties = Record<string, unknown>;
type AnyCollection = Collection<undefined, string>;

/** deleteMany removes at most the server's QUERY_MAXIMUM_RESULTS per call; loop until none match. */
const deleteManyRounds = 1000;

/**
 * Long-term memory in Weaviate, one tenant per namespace + user, so a
 * user's query can only ever touch that user's objects and ForgetUser drops
 * the tenant. Search is Weaviate's hybrid query (BM25 + vector) fused by
 * relative score, whose fused score is the relevance: the embedded store
 * applies the same formula (domain/hybrid-fusion.ts), so scores mean the
 * same on both backends. With `alpha` 1 it is a vector search and relevance
 * is the cosine similarity, as settlement's thresholds expect.
 *
 * Weaviate has no atomic increment: access counts are read and rewritten
 * by the batched, off-path access tracker, so two replicas flushing the same
 * memory at once may undercount. Access statistics are advisory.
 */
export class WeaviateLongTermStore implements LongTermStore {
  private handle: AnyCollection | undefined;

  constructor(
    private readonly client: WeaviateClient,
    private readonly collectionName: string,
    readonly dimensions: number,
    private readonly options: WeaviateStoreOptions,
  ) {}

  /**
   * The collection, made on first use once Weaviate has been reached: the
   * client's collection handle asks for the server version at once, and
   * while Weaviate is away that request fails where nobody can catch it.
   */
  private get collection(): AnyCollection {
    if (!this.options.reachable()) {
      throw new UnavailableError("weaviate", "not reachable (its last health check failed)");
    }
    return (this.handle ??= this.client.collections
      .get(this.collectionName)
      .withConsistency(this.options.consistency ?? "QUORUM"));
  }

  private call<T>(work: () => Promise<T>): Promise<T> {
    if (!this.options.reachable()) {
      return Promise.reject(new UnavailableError("weaviate", "not reachable (its last health check failed)"));
    }
    return translateWeaviateErrors(work);
  }

  private tenant(scope: Scope): AnyCollection {
    const name = tenantName(scope);
    this.options.tenantSleep?.touch(name);
    return this.collection.withTenant(name);
  }

  embedderIdentity(): Promise<string | undefined> {
    return this.call(async () => embedderIn((await this.collection.config.get()).description));
  }

  recordEmbedderIdentity(identity: string): Promise<void> {
    return this.call(async () => {
      await this.collection.config.update({ description: descriptionOf(this.dimensions, identity) });
    });
  }

  insert(record: MemoryRecord): Promise<void> {
    return this.call(async () => {
      await this.options.registry.register([record.scope]);
      await this.tenant(record.scope).data.insert({
        id: record.id,
        properties: toProperties(record) as never,
        vectors: Array.from(record.embedding),
      });
    });
  }

  count(scope: Scope): Promise<number> {
    return this.call(async () => {
      try {
        return await this.tenant(scope).length();
      } catch (error) {
        if (isTenantNotFound(error)) return 0;
        throw error;
      }
    });
  }

  update(record: MemoryRecord): Promise<boolean> {
    return this.call(async () => {
      const tenant = this.tenant(record.scope);
      if (!(await this.exists(tenant, record.id))) return false;
      // A merge (PATCH) of everything but the access statistics; Weaviate
      // checks existence again itself, so a delete in between wins.
      const properties = toProperties(record);
      for (const name of accessProperties) delete properties[name];
      try {
        await tenant.data.update({
          id: record.id,
          properties: properties as never,
          vectors: Array.from(record.embedding),
        });
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
      return true;
    });
  }

  insertMany(records: readonly MemoryRecord[]): Promise<BulkInsertResult> {
    return this.call(async () => {
      const failed: { id: string; error: string }[] = [];
      await this.options.registry.register(records.map((r) => r.scope));
      const byTenant = new Map<string, MemoryRecord[]>();
      for (const r of records) byTenant.set(tenantName(r.scope), [...(byTenant.get(tenantName(r.scope)) ?? []), r]);
      for (const [tenant, group] of byTenant) {
        this.options.tenantSleep?.touch(tenant);
        for (let i = 0; i < group.length; i += this.options.batchSize) {
          const chunk = group.slice(i, i + this.options.batchSize);
          const result = await this.collection
            .withTenant(tenant)
            .data.insertMany(
              chunk.map((r) => ({ id: r.id, properties: toProperties(r) as never, vectors: Array.from(r.embedding) })),
            );
          for (const [index, error] of Object.entries(result.errors)) {
            failed.push({ id: chunk[Number(index)]!.id, error: error.message });
          }
        }
      }
      return { failed };
    });
  }

  /**
   * Whether an object exists, over gRPC: REST's HEAD answers an unknown
   * tenant with a bare 422 that cannot be told apart from other errors.
   */
  private async exists(tenant: AnyCollection, id: string): Promise<boolean> {
    try {
      return (await tenant.query.fetchObjectById(id, { returnProperties: [] })) !== null;
    } catch (error) {
      if (isTenantNotFound(error)) return false;
      throw error;
    }
  }

  get(scope: Scope, id: string): Promise<MemoryRecord | undefined> {
    return this.call(async () => {
      try {
        const object = await this.tenant(scope).query.fetchObjectById(id, { includeVector: true });
        return object ? toRecord(object.uuid, object.properties, vectorOf(object.vectors)) : undefined;
      } catch (error) {
        if (isTenantNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  search(scope: Scope, search: MemorySearch): Promise<MemoryHit[]> {
    return this.call(async () => {
      const filters = this.conditions(search.filter);
      const f = this.collection.filter;
      if (search.types.length > 0) filters.push(f.byProperty("type").containsAny([...search.types]));
      if (!search.includeSuperseded) filters.push(f.byProperty("superseded").equal(false));
      if (search.speakers && search.speakers.length > 0) {
        filters.push(f.byProperty("speaker").containsAny([...search.speakers]));
      }
      try {
        const where = filters.length > 0 ? { filters: Filters.and(...filters) } : {};
        const tenant = this.tenant(scope);
        if (search.alpha >= 1) {
          const result = await tenant.query.nearVector(Array.from(search.embedding), {
            limit: search.limit,
            includeVector: true,
            ...where,
          });
          return result.objects
            .map((o) => {
              const record = toRecord(o.uuid, o.properties, vectorOf(o.vectors));
              return { record, relevance: cosine(search.embedding, record.embedding) };
            })
            .filter((hit) => hit.relevance > 0)
            .sort((a, b) => b.relevance - a.relevance);
        }
        const result = await tenant.query.hybrid(search.text, {
          vector: Array.from(search.embedding),
          alpha: search.alpha,
          fusionType: "RelativeScore",
          // Vector candidates must point the query's way (cosine > 0), as on the embedded store.
          maxVectorDistance: 1 - 1e-6,
          limit: search.limit,
          includeVector: search.withEmbeddings !== false,
          returnMetadata: ["score"],
          ...where,
        });
        return result.objects
          .map((o) => ({
            record: toRecord(o.uuid, o.properties, vectorOf(o.vectors)),
            relevance: Math.min(1, Math.max(0, o.metadata?.score ?? 0)),
          }))
          .sort((a, b) => b.relevance - a.relevance);
      } catch (error) {
        if (isTenantNotFound(error)) return [];
        throw error;
      }
    });
  }

  /**
   * Recall's candidates: a vector query and a BM25 query over `content`,
   * run side by side and returned apart with their raw scores (cosine is
   * 1 − Weaviate's cosine distance), for the domain to fuse as it does for
   * the embedded store (domain/recall-ranking.ts).
   */
  candidates(scope: Scope, search: CandidateSearch): Promise<RecallCandidates> {
    return this.call(async () => {
      const filters = this.conditions(search.filter);
      const f = this.collection.filter;
      if (search.types.length > 0) filters.push(f.byProperty("type").containsAny([...search.types]));
      if (!search.includeSuperseded) filters.push(f.byProperty("superseded").equal(false));
      if (search.speakers && search.speakers.length > 0) {
        filters.push(f.byProperty("speaker").containsAny([...search.speakers]));
      }
      const where = filters.length > 0 ? { filters: Filters.and(...filters) } : {};
      const tenant = this.tenant(scope);
      const none = new Float32Array(0);
      const embedding = await search.embedding;
      try {
        const [near, lexical] = await Promise.all([
          timed(
            "vector search",
            tenant.query.nearVector(Array.from(embedding), {
              limit: search.limit,
              // Only memories pointing the query's way (cosine > 0), as on the embedded store.
              distance: 1 - 1e-6,
              returnMetadata: ["distance"],
              ...where,
            }),
          ),
          search.terms.length === 0
            ? undefined
            : timed(
                "lexical search",
                tenant.query.bm25(search.terms.join(" "), {
                  queryProperties: ["content"],
                  limit: search.limit,
                  returnMetadata: ["score"],
                  ...where,
                }),
              ),
        ]);
        const decoding = stageTimings.begin();
        const vector: CandidateHit[] = near.objects
          .map((o) => ({ record: toRecord(o.uuid, o.properties, none), score: 1 - (o.metadata?.distance ?? 1) }))
          .filter((hit) => hit.score > 0);
        const bm25: CandidateHit[] = (lexical?.objects ?? [])
          .map((o) => ({ record: toRecord(o.uuid, o.properties, none), score: o.metadata?.score ?? 0 }))
          .filter((hit) => hit.score > 0);
        stageTimings.end("candidate decoding", decoding);
        return { vector, lexical: bm25 };
      } catch (error) {
        if (isTenantNotFound(error)) return { vector: [], lexical: [] };
        throw error;
      }
    });
  }

  list(scope: Scope, filter: MemoryFilter, after: ListCursor | undefined, limit: number): Promise<MemoryRecord[]> {
    return this.call(async () => {
      const filters = this.conditions(filter);
      // Text compares lexically, and listKey's zero-padded time makes that the (createdAt, id) order.
      if (after) filters.push(this.collection.filter.byProperty("listKey").greaterThan(listKey(after) as never));
      try {
        const result = await this.tenant(scope).query.fetchObjects({
          limit,
          includeVector: true,
          sort: this.collection.sort.byProperty("listKey" as never, true),
          ...(filters.length > 0 ? { filters: Filters.and(...filters) } : {}),
        });
        return result.objects.map((o) => toRecord(o.uuid, o.properties, vectorOf(o.vectors)));
      } catch (error) {
        if (isTenantNotFound(error)) return [];
        throw error;
      }
    });
  }

  /** A filter as Weaviate property conditions (to be and-ed), so the query itself filters. */
  private conditions(filter: MemoryFilter | undefined): FilterValue[] {
    const f = this.collection.filter;
    const conditions: FilterValue[] = [];
    if (!filter) return conditions;
    if (filter.types && filter.types.length > 0) conditions.push(f.byProperty("type").containsAny([...filter.types]));
    if (filter.subject !== undefined) conditions.push(f.byProperty("subject").equal(filter.subject));
    if (filter.pinned !== undefined) conditions.push(f.byProperty("pinned").equal(filter.pinned));
    if (filter.superseded !== undefined) conditions.push(f.byProperty("superseded").equal(filter.superseded));
    if (filter.supersededBy !== undefined) conditions.push(f.byProperty("supersededBy").equal(filter.supersededBy));
    if (filter.sourceSessionId !== undefined) {
      conditions.push(f.byProperty("sourceSession").equal(filter.sourceSessionId));
    }
    for (const pair of metadataPairs(filter.metadata ?? {})) {
      conditions.push(f.byProperty("metadataPairs").containsAny([pair]));
    }
    if (filter.occurredFrom) conditions.push(f.byProperty("occurredAt").greaterOrEqual(filter.occurredFrom));
    if (filter.occurredBefore) conditions.push(f.byProperty("occurredAt").lessThan(filter.occurredBefore));
    if (filter.createdFrom) conditions.push(f.byProperty("createdAt").greaterOrEqual(filter.createdFrom));
    if (filter.createdBefore) conditions.push(f.byProperty("createdAt").lessThan(filter.createdBefore));
    return conditions;
  }

  /**
   * One read of the memories' access statistics (no vectors, no other
   * properties), then a merge (PATCH) of just those three properties per
   * memory, a few at a time. Not a batch write of whole objects: Weaviate
   * gives a replaced object a new document id and inserts its vector into
   * the HNSW graph again (leaving the old one for tombstone cleanup), work
   * that on a 100,000-memory tenant slowed the recalls beside it; a merge
   * keeps the document id and the vector index untouched. A memory deleted
   * between the read and its merge is skipped, never re-created. Safe
   * against lost counts because flushes and updates of one user run under
   * the user's write lock, and `update` never writes these properties.
   */
  recordAccess(scope: Scope, counts: ReadonlyMap<string, number>, at: Date): Promise<void> {
    return timed("access write", this.recordAccessNow(scope, counts, at));
  }

  private recordAccessNow(scope: Scope, counts: ReadonlyMap<string, number>, at: Date): Promise<void> {
    return this.call(async () => {
      const tenant = this.tenant(scope);
      const ids = [...counts.keys()];
      let found;
      try {
        found = await tenant.query.fetchObjects({
          limit: ids.length,
          returnProperties: ["accessCount", "lastAccessedAt"],
          filters: this.collection.filter.byId().containsAny(ids),
        });
      } catch (error) {
        if (isTenantNotFound(error)) return; // the user was forgotten in the meantime
        throw error;
      }
      const merges = found.objects.map((o) => {
        const previous = o.properties.lastAccessedAt instanceof Date ? o.properties.lastAccessedAt : undefined;
        const last = previous && previous.getTime() > at.getTime() ? previous : at;
        return {
          id: o.uuid,
          properties: {
            accessCount: Number(o.properties.accessCount ?? 0) + (counts.get(o.uuid) ?? 0),
            lastAccessedAt: last,
            lastUsedAt: last,
          },
        };
      });
      const unapplied = new Map<string, number>();
      let failure: unknown;
      await inParallel(merges, accessMergesInFlight, async (merge) => {
        try {
          await tenant.data.update({ id: merge.id, properties: merge.properties as never });
        } catch (error) {
          if (isNotFound(error)) return;
          unapplied.set(merge.id, counts.get(merge.id) ?? 0);
          failure ??= error;
        }
      });
      if (unapplied.size > 0 && unapplied.size === merges.length) throw failure;
      if (unapplied.size > 0) {
        throw new AccessWriteIncomplete(
          unapplied,
          await translateWeaviateErrors(() => Promise.reject(failure)).catch((translated: unknown) => translated),
        );
      }
    });
  }

  delete(scope: Scope, id: string): Promise<boolean> {
    return this.call(async () => {
      const tenant = this.tenant(scope);
      if (!(await this.exists(tenant, id))) return false;
      return tenant.data.deleteById(id);
    });
  }

  deleteUser(scope: Scope): Promise<number> {
    return this.call(async () => {
      const name = tenantName(scope);
      const tenants = await this.collection.tenants.getByNames([name]);
      if (!tenants[name]) {
        await this.options.registry.unregister(scope);
        return 0;
      }
      const count = await this.collection.withTenant(name).length();
      await this.collection.tenants.remove([name]);
      await this.options.registry.unregister(scope);
      return count;
    });
  }

  /** From the registry: only the namespace's users are read, in pages. */
  async *users(namespace: string | undefined): AsyncIterable<Scope> {
    if (!this.options.reachable())
      throw new UnavailableError("weaviate", "not reachable (its last health check failed)");
    try {
      yield* this.options.registry.users(namespace);
    } catch (error) {
      await translateWeaviateErrors(() => Promise.reject(error));
    }
  }

  /**
   * Registers the users of every memory tenant: for a store made before the
   * registry, once, when the registry is created. Reads one object per tenant.
   */
  async backfillRegistry(): Promise<number> {
    const tenants = await this.call(() => this.collection.tenants.get());
    let users = 0;
    for (const name of Object.keys(tenants)) {
      const sample = await this.call(() =>
        this.collection.withTenant(name).query.fetchObjects({ limit: 1, returnProperties: ["namespace", "userId"] }),
      );
      const p = sample.objects[0]?.properties;
      if (!p) continue;
      await this.call(() =>
        this.options.registry.register([{ namespace: String(p.namespace), userId: String(p.userId) }]),
      );
      users++;
    }
    return users;
  }

  async *evictionCandidates(scope: Scope, batchSize: number): AsyncIterable<EvictionCandidate[]> {
    const tenant = this.tenant(scope);
    let after: string | undefined;
    for (;;) {
      const page = await this.call(async () => {
        try {
          return await tenant.query.fetchObjects({
            limit: batchSize,
            ...(after ? { after } : {}),
            returnProperties: ["importance", "pinned", "createdAt", "lastAccessedAt", "accessCount"],
          });
        } catch (error) {
          if (isTenantNotFound(error)) return { objects: [] };
          throw error;
        }
      });
      if (page.objects.length === 0) return;
      yield page.objects.map((o) => ({
        id: o.uuid,
        importance: Number(o.properties.importance),
        pinned: o.properties.pinned === true,
        createdAt: o.properties.createdAt as Date,
        lastAccessedAt: (o.properties.lastAccessedAt as Date | undefined) ?? undefined,
        accessCount: Number(o.properties.accessCount ?? 0),
      }));
      after = page.objects.at(-1)!.uuid;
      if (page.objects.length < batchSize) return;
    }
  }

  deleteMany(scope: Scope, ids: readonly string[]): Promise<number> {
    return this.call(async () => {
      let deleted = 0;
      for (let i = 0; i < ids.length; i += 1000) {
        const chunk = ids.slice(i, i + 1000);
        const result = await this.tenant(scope).data.deleteMany(this.collection.filter.byId().containsAny(chunk));
        deleted += result.successful;
      }
      return deleted;
    });
  }

  deleteBand(scope: Scope, band: EvictionBand): Promise<{ deleted: number; ids: string[] }> {
    return this.call(async () => {
      const f = this.collection.filter;
      const where = Filters.and(
        f.byProperty("pinned").equal(false),
        f.byProperty("accessCount").equal(0),
        f.byProperty("importance").greaterOrEqual(band.importanceFrom),
        f.byProperty("importance").lessThan(band.importanceBelow),
        f.byProperty("lastUsedAt").lessThan(band.lastUsedBefore),
        f.byProperty("createdAt").lessThan(band.createdBefore),
      );
      let deleted = 0;
      try {
        // Counts only: weaviate-client cannot decode verbose results of large deletes.
        for (let round = 0; round < deleteManyRounds; round++) {
          const result = await this.tenant(scope).data.deleteMany(where);
          deleted += result.successful;
          if (result.matches === 0 || result.successful === 0) break;
        }
      } catch (error) {
        if (!isTenantNotFound(error)) throw error;
      }
      return { deleted, ids: [] };
    });
  }
}

/** Tenant names allow [A-Za-z0-9_-]{1,64}; user ids allow more, so the tenant is a digest of the scope. */
export function tenantName(scope: Scope): string {
  return `u${createHash("sha256").update(`${scope.namespace}\u0000${scope.userId}`).digest("hex").slice(0, 40)}`;
}

/** Access-statistics merges sent at once by one flush: enough to overlap round trips, few enough to leave Weaviate to the queries. */
const accessMergesInFlight = 4;

/** `work`'s time as `stage` (ENGRAM_STAGE_TIMINGS), failed or not. */
async function timed<T>(stage: Stage, work: Promise<T>): Promise<T> {
  const started = stageTimings.begin();
  try {
    return await work;
  } finally {
    stageTimings.end(stage, started);
  }
}

/** `work` over every item, at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Written only by recordAccess (and on insert), never by update. */
const accessProperties = ["accessCount", "lastAccessedAt", "lastUsedAt"] as const;

function toProperties(record: MemoryRecord): Properties {
  return {
    namespace: record.scope.namespace,
    userId: record.scope.userId,
    type: record.type,
    content: record.content,
    importance: record.importance,
    metadata: JSON.stringify(record.metadata),
    subject: record.subject,
    pinned: record.pinned,
    superseded: record.supersededBy !== undefined,
    supersededBy: record.supersededBy ?? "",
    occurredAt: record.occurredAt,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.lastAccessedAt ? { lastAccessedAt: record.lastAccessedAt } : {}),
    lastUsedAt: record.lastAccessedAt ?? record.createdAt,
    accessCount: record.accessCount,
    ...(record.validUntil ? { validUntil: record.validUntil } : {}),
    sourceKind: record.source.kind,
    sourceSession: record.source.sessionId,
    sourceMessageIds: [...record.source.messageIds],
    sourceCaller: record.source.caller,
    history: JSON.stringify(record.history ?? []),
    listKey: listKey(record),
    metadataPairs: metadataPairs(record.metadata),
    speaker: record.speaker ?? "",
    speakerWords: record.speaker ?? "",
  };
}

function listKey(at: { readonly createdAt: Date; readonly id: string }): string {
  return `${String(at.createdAt.getTime()).padStart(15, "0")}:${at.id}`;
}

function metadataPairs(metadata: Metadata): string[] {
  return Object.entries(metadata).map(([key, value]) => `${key}=${value}`);
}

function vectorOf(vectors: unknown): Float32Array {
  const v = (vectors as Record<string, unknown> | undefined)?.default;
  return Float32Array.from((Array.isArray(v) ? v : []) as number[]);
}

function toRecord(id: string, p: Properties, embedding: Float32Array): MemoryRecord {
  const date = (value: unknown) => (value instanceof Date ? value : value ? new Date(String(value)) : undefined);
  return {
    id,
    scope: { namespace: String(p.namespace), userId: String(p.userId) },
    type: String(p.type) as MemoryType,
    content: String(p.content),
    importance: Number(p.importance),
    metadata: JSON.parse(String(p.metadata ?? "{}")) as Record<string, string>,
    subject: String(p.subject ?? ""),
    pinned: p.pinned === true,
    occurredAt: date(p.occurredAt)!,
    createdAt: date(p.createdAt)!,
    updatedAt: date(p.updatedAt)!,
    lastAccessedAt: date(p.lastAccessedAt),
    accessCount: Number(p.accessCount ?? 0),
    supersededBy: p.supersededBy ? String(p.supersededBy) : undefined,
    validUntil: date(p.validUntil),
    embedding,
    source: {
      kind: p.sourceKind ? (String(p.sourceKind) as MemorySource["kind"]) : "unknown",
      sessionId: String(p.sourceSession ?? ""),
      messageIds: Array.isArray(p.sourceMessageIds) ? p.sourceMessageIds.map(String) : [],
      caller: String(p.sourceCaller ?? ""),
    },
    history: parseMemoryHistory(p.history ? String(p.history) : undefined),
    ...(p.speaker ? { speaker: String(p.speaker) } : {}),
  };
}
