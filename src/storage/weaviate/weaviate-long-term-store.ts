import { createHash } from "node:crypto";
import { Filters, type Collection, type WeaviateClient } from "weaviate-client";
import type { EvictionBand, EvictionCandidate } from "../../domain/forgetting.js";
import type { MemoryRecord, Scope } from "../../domain/types.js";
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
import { stageTimings, type Stage } from "../../observability/stage-timings.js";
import { mergeAccessCounts } from "./weaviate-access-writes.js";
import { isNotFound, isTenantNotFound, translateWeaviateErrors } from "./weaviate-errors.js";
import { deleteBandMembers, deleteByIds, evictionCandidatePage } from "./weaviate-eviction.js";
import { filterConditions, searchConditions } from "./weaviate-memory-filter.js";
import { accessProperties, listKey, toProperties, toRecord, vectorOf } from "./weaviate-memory-properties.js";
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

type AnyCollection = Collection<undefined, string>;

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
      const filters = searchConditions(this.collection.filter, search);
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
      const filters = searchConditions(this.collection.filter, search);
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
      const filters = filterConditions(this.collection.filter, filter);
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

  /** The access statistics' merge, timed as a stage (see weaviate-access-writes.ts for why merges). */
  recordAccess(scope: Scope, counts: ReadonlyMap<string, number>, at: Date): Promise<void> {
    return timed(
      "access write",
      this.call(() => mergeAccessCounts(this.tenant(scope), this.collection.filter, counts, at)),
    );
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
      const page = await this.call(() => evictionCandidatePage(tenant, batchSize, after));
      if (page.length === 0) return;
      yield page;
      after = page.at(-1)!.id;
      if (page.length < batchSize) return;
    }
  }

  deleteMany(scope: Scope, ids: readonly string[]): Promise<number> {
    return this.call(() => deleteByIds(() => this.tenant(scope), this.collection.filter, ids));
  }

  deleteBand(scope: Scope, band: EvictionBand): Promise<{ deleted: number; ids: string[] }> {
    return this.call(async () => ({
      deleted: await deleteBandMembers(() => this.tenant(scope), this.collection.filter, band),
      ids: [],
    }));
  }
}

/** Tenant names allow [A-Za-z0-9_-]{1,64}; user ids allow more, so the tenant is a digest of the scope. */
export function tenantName(scope: Scope): string {
  return `u${createHash("sha256").update(`${scope.namespace}\u0000${scope.userId}`).digest("hex").slice(0, 40)}`;
}

/** `work`'s time as `stage` (ENGRAM_STAGE_TIMINGS), failed or not. */
async function timed<T>(stage: Stage, work: Promise<T>): Promise<T> {
  const started = stageTimings.begin();
  try {
    return await work;
  } finally {
    stageTimings.end(stage, started);
  }
}
