import type { WeaviateClient } from "weaviate-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scope } from "../../src/domain/types.js";
import { tenantName, WeaviateLongTermStore } from "../../src/storage/weaviate/weaviate-long-term-store.js";
import { openWeaviateStores } from "../../src/storage/weaviate/weaviate-store.js";
import { WeaviateUserRegistry } from "../../src/storage/weaviate/weaviate-user-registry.js";
import { dimensions, memoryRecord } from "../support/memory-fixtures.js";
import { connectToWeaviate } from "../support/weaviate-direct.js";
import { startWeaviate, type WeaviateServer } from "../support/weaviate-server.js";

/**
 * The Weaviate store at scale in users: a namespace's users come from the
 * registry (only that namespace is read, never every tenant), and access
 * statistics are one read and one batch write per flush.
 */
let server: WeaviateServer;
let client: WeaviateClient;
beforeAll(async () => {
  server = await startWeaviate();
  client = await connectToWeaviate(server);
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

const config = (collection: string) => ({
  url: server.url,
  grpcAddress: server.grpcAddress,
  apiKey: undefined,
  collection,
  timeoutMs: 10_000,
  batchSize: 100,
});

/** The client, recording every tenant used and every call made on a tenant (e.g. "query.fetchObjects"). */
function spy(real: WeaviateClient) {
  const tenants: string[] = [];
  const calls: string[] = [];
  const record = (path: string, target: object): unknown =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof property !== "string") return value;
        if (typeof value === "function") {
          return (...args: unknown[]) => {
            if (path !== "") calls.push(`${path}.${property}`);
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        }
        return value !== null && typeof value === "object" && (property === "query" || property === "data")
          ? record(property, value)
          : value;
      },
    });
  const collections = {
    ...real.collections,
    get: (name: string) => {
      // A collection at a consistency level is spied on like the plain one.
      const watch = (collection: ReturnType<WeaviateClient["collections"]["get"]>): typeof collection =>
        new Proxy(collection, {
          get(object, property, receiver) {
            if (property === "withTenant") {
              return (tenant: string) => {
                tenants.push(`${name}/${tenant}`);
                return record("", object.withTenant(tenant));
              };
            }
            if (property === "withConsistency") {
              return (level: Parameters<typeof object.withConsistency>[0]) => watch(object.withConsistency(level));
            }
            return Reflect.get(object, property, receiver);
          },
        });
      return watch(real.collections.get(name));
    },
  };
  return { client: { ...real, collections } as WeaviateClient, tenants, calls };
}

async function storeOn(collection: string) {
  const opened = await openWeaviateStores(config(collection), dimensions);
  const spied = spy(client);
  const store = new WeaviateLongTermStore(spied.client, collection, dimensions, {
    batchSize: 100,
    reachable: () => true,
    registry: new WeaviateUserRegistry(spied.client, `${collection}Users`),
  });
  return { store, spied, opened };
}

describe("Weaviate at scale in users", () => {
  it("lists a namespace's users without touching another namespace's tenants", async () => {
    const { store, spied, opened } = await storeOn("ScaleUsers");
    try {
      const scopes: Scope[] = [
        ...[0, 1, 2].map((i) => ({ namespace: "alpha", userId: `a${i}` })),
        ...[0, 1, 2, 3].map((i) => ({ namespace: "beta", userId: `b${i}` })),
      ];
      await store.insertMany(scopes.map((scope) => memoryRecord(scope, "Prefers tea")));
      spied.tenants.length = 0;
      const listed: Scope[] = [];
      for await (const scope of store.users("alpha")) listed.push(scope);
      expect(listed.map((s) => s.userId).sort()).toEqual(["a0", "a1", "a2"]);
      // No memory tenant was read at all, and only alpha's registry tenant.
      expect(spied.tenants.filter((t) => t.startsWith("ScaleUsers/"))).toEqual([]);
      expect(new Set(spied.tenants).size).toBe(1);

      const everyone: Scope[] = [];
      for await (const scope of store.users(undefined)) everyone.push(scope);
      expect(everyone).toHaveLength(7);

      // ForgetUser unregisters the user.
      await store.deleteUser({ namespace: "beta", userId: "b1" });
      const beta: string[] = [];
      for await (const scope of store.users("beta")) beta.push(scope.userId);
      expect(beta.sort()).toEqual(["b0", "b2", "b3"]);
    } finally {
      await opened.close();
    }
  });

  it("registers the users of a store made before the registry, once, when it opens", async () => {
    const first = await openWeaviateStores(config("ScaleBackfill"), dimensions);
    const scope = { namespace: "gamma", userId: "g1" };
    await first.longTerm.insert(memoryRecord(scope, "Lives in Lisbon"));
    await first.close();
    await client.collections.delete("ScaleBackfillUsers");
    const reopened = await openWeaviateStores(config("ScaleBackfill"), dimensions);
    try {
      const listed: Scope[] = [];
      for await (const s of reopened.longTerm.users("gamma")) listed.push(s);
      expect(listed).toEqual([scope]);
    } finally {
      await reopened.close();
    }
  });

  it("writes a flush of access statistics with one read and a merge of the access fields per memory, vectors untouched", async () => {
    const { store, spied, opened } = await storeOn("ScaleAccess");
    try {
      const scope = { namespace: "delta", userId: "d1" };
      const records = Array.from({ length: 20 }, (_, i) => memoryRecord(scope, `fact number ${i}`));
      await store.insertMany(records);
      spied.calls.length = 0;
      const at = new Date();
      await store.recordAccess(scope, new Map(records.map((r, i) => [r.id, i + 1])), at);
      // A whole-object batch write would re-insert every vector into HNSW: only the three access fields are patched.
      expect(spied.calls).toEqual(["query.fetchObjects", ...records.map(() => "data.update")]);
      for (const [i, r] of records.entries()) {
        const stored = await store.get(scope, r.id);
        expect(stored).toMatchObject({ accessCount: i + 1, content: r.content });
        expect(stored!.lastAccessedAt?.getTime()).toBe(at.getTime());
        expect(Array.from(stored!.embedding)).toEqual(Array.from(r.embedding));
      }
      expect(tenantName(scope)).toMatch(/^u[0-9a-f]{40}$/);
    } finally {
      await opened.close();
    }
  });
});
