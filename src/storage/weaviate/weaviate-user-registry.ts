import { createHash } from "node:crypto";
import weaviate, { generateUuid5, type Collection, type WeaviateClient } from "weaviate-client";
import type { Scope } from "../../domain/types.js";
import { isTenantNotFound } from "./weaviate-errors.js";
import { replicationConfig, singleNode, type WeaviateReplication } from "./weaviate-replication.js";

type AnyCollection = Collection<undefined, string>;

/**
 * Which users hold memories, per namespace, so a namespace's eviction (or
 * export) touches only that namespace's users. Memory tenants are digests of
 * namespace + user, which cannot be listed by namespace; the registry is a
 * second, multi-tenant collection with one tenant per namespace and one
 * object (no vector) per user, listed with Weaviate's cursor. Writes register
 * the user once per process (an upsert under a deterministic id); ForgetUser
 * unregisters it.
 */
export class WeaviateUserRegistry {
  private readonly registered = new Set<string>();

  constructor(
    private readonly client: WeaviateClient,
    readonly name: string,
    /** Replicated and read like the memories, so a user's registration survives what their memories survive. */
    private readonly replication: WeaviateReplication = singleNode,
  ) {}

  private get collection(): AnyCollection {
    return this.client.collections.get(this.name).withConsistency(this.replication.consistency);
  }

  /** Creates the registry if missing; true if it was created now (an older store: fill it with `backfill`). */
  async ensure(): Promise<boolean> {
    if (await this.client.collections.exists(this.name)) return false;
    try {
      await this.client.collections.create({
        name: this.name,
        description: "engram: the users holding long-term memories, one tenant per namespace",
        multiTenancy: weaviate.configure.multiTenancy({
          enabled: true,
          autoTenantCreation: true,
          autoTenantActivation: true,
        }),
        replication: replicationConfig(this.replication),
        properties: [
          { name: "namespace", dataType: "text", tokenization: "field", indexSearchable: false },
          { name: "userId", dataType: "text", tokenization: "field", indexSearchable: false },
        ] as never,
      });
      return true;
    } catch (error) {
      if (await this.client.collections.exists(this.name)) return false; // Another replica made it first.
      throw error;
    }
  }

  /** Records these users (once per process each); a batch upsert per call. */
  async register(scopes: readonly Scope[]): Promise<void> {
    const fresh = new Map<string, Scope>();
    for (const scope of scopes) {
      const key = `${scope.namespace}\u0000${scope.userId}`;
      if (!this.registered.has(key)) fresh.set(key, scope);
    }
    const byNamespace = new Map<string, Scope[]>();
    for (const scope of fresh.values())
      byNamespace.set(scope.namespace, [...(byNamespace.get(scope.namespace) ?? []), scope]);
    for (const [namespace, group] of byNamespace) {
      const result = await this.collection
        .withTenant(namespaceTenant(namespace))
        .data.insertMany(
          group.map((scope) => ({ id: userObjectId(scope), properties: { namespace, userId: scope.userId } as never })),
        );
      if (result.hasErrors)
        throw new Error(`user registry: ${Object.values(result.errors)[0]?.message ?? "write failed"}`);
    }
    for (const key of fresh.keys()) this.registered.add(key);
  }

  async unregister(scope: Scope): Promise<void> {
    this.registered.delete(`${scope.namespace}\u0000${scope.userId}`);
    try {
      await this.collection.withTenant(namespaceTenant(scope.namespace)).data.deleteById(userObjectId(scope));
    } catch (error) {
      if (!isTenantNotFound(error)) throw error;
    }
  }

  /** The users of one namespace, or of all, in pages of `pageSize` (a cursor: no offset limit). */
  async *users(namespace: string | undefined, pageSize = 1000): AsyncIterable<Scope> {
    const tenants =
      namespace === undefined ? Object.keys(await this.collection.tenants.get()).sort() : [namespaceTenant(namespace)];
    for (const tenant of tenants) {
      let after: string | undefined;
      for (;;) {
        let page;
        try {
          page = await this.collection.withTenant(tenant).query.fetchObjects({
            limit: pageSize,
            ...(after ? { after } : {}),
            returnProperties: ["namespace", "userId"],
          });
        } catch (error) {
          if (isTenantNotFound(error)) break;
          throw error;
        }
        for (const o of page.objects)
          yield { namespace: String(o.properties.namespace), userId: String(o.properties.userId) };
        if (page.objects.length < pageSize) break;
        after = page.objects.at(-1)!.uuid;
      }
    }
  }
}

/** Registry tenants: a digest of the namespace (tenant names allow fewer characters than namespaces). */
function namespaceTenant(namespace: string): string {
  return `n${createHash("sha256").update(namespace).digest("hex").slice(0, 40)}`;
}

function userObjectId(scope: Scope): string {
  return generateUuid5(`${scope.namespace}\u0000${scope.userId}`);
}
