import weaviate, { type WeaviateClient } from "weaviate-client";
import type { HealthCheck, LongTermStore } from "../../domain/ports.js";
import { WeaviateLongTermStore } from "./weaviate-long-term-store.js";
import { WeaviateUserRegistry } from "./weaviate-user-registry.js";
import { WeaviateTenantSleep, type TenantSleepPolicy } from "./weaviate-tenant-sleep.js";
import { EmbedderMismatchError } from "../../domain/models.js";
import { ensureMemoryCollection, SchemaMismatchError, type CollectionCheck } from "./weaviate-schema.js";
import { singleNode, type WeaviateReplication } from "./weaviate-replication.js";
import { bm25Defect } from "./weaviate-version.js";

export interface WeaviateConfig {
  /** REST endpoint, e.g. http://weaviate:8080. */
  readonly url: string;
  /** gRPC endpoint as host:port; defaults to the REST host on port 50051. */
  readonly grpcAddress: string | undefined;
  readonly apiKey: string | undefined;
  readonly collection: string;
  readonly timeoutMs: number;
  readonly batchSize: number;
  /**
   * Idle users' tenants are put to sleep. A batch job that touches every
   * user (`engram evict`) does not sweep; it puts back to sleep, when it
   * closes, the tenants that were asleep when it opened (`restoreOnClose`).
   */
  readonly tenantSleep?: TenantSleepPolicy & { readonly restoreOnClose: boolean };
  /** Replication factor for the collections Engram creates, and the consistency of every call (one node: factor 1). */
  readonly replication?: WeaviateReplication;
}

/** Where start-up tells of a Weaviate it can use, but not well (weaviate-version.ts). */
export interface WeaviateWarnings {
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface WeaviateStores {
  readonly longTerm: LongTermStore;
  readonly health: HealthCheck;
  close(): Promise<void>;
}

/**
 * Connects to Weaviate without waiting for it: Engram starts, and stays
 * NOT_SERVING, while Weaviate is unreachable, and recovers when it appears,
 * as with Redis. Each health check that finds Weaviate ready before the
 * collection is known makes sure Engram's collection is there and matches
 * (creating it if missing). A collection that differs is fatal to serving:
 * the health check fails with what differs, and every call is UNAVAILABLE.
 * A path in the URL (a reverse proxy's prefix) is kept.
 */
export async function openWeaviateStores(
  config: WeaviateConfig,
  dimensions: number,
  collectionCheck: CollectionCheck = {},
  warnings: WeaviateWarnings = { warn: () => {} },
): Promise<WeaviateStores> {
  const rest = new URL(config.url);
  const [grpcHost, grpcPort] = (config.grpcAddress ?? `${rest.hostname}:50051`).split(":");
  const secure = rest.protocol === "https:";
  const seconds = Math.max(1, Math.ceil(config.timeoutMs / 1000));
  const path = rest.pathname.replace(/\/+$/, "");
  const client: WeaviateClient = await weaviate.connectToCustom({
    httpHost: rest.hostname,
    httpPort: Number(rest.port || (secure ? 443 : 80)),
    httpSecure: secure,
    ...(path ? { httpPath: path } : {}),
    grpcHost: grpcHost!,
    grpcPort: Number(grpcPort),
    grpcSecure: secure,
    ...(config.apiKey ? { authCredentials: new weaviate.ApiKey(config.apiKey) } : {}),
    timeout: { init: seconds, query: seconds, insert: seconds },
    // The version checks would need Weaviate up now; it may come later.
    skipInitChecks: true,
  });
  const readyUrl = `${rest.origin}${path}/v1/.well-known/ready`;
  let schemaChecked = false;
  let reachable = false;
  const replication = config.replication ?? singleNode;
  const registry = new WeaviateUserRegistry(client, `${config.collection}Users`, replication);
  const tenantSleep = new WeaviateTenantSleep(
    () => client.collections.get(config.collection) as never,
    config.tenantSleep ?? { idleMs: 0, checkIntervalMs: 0 },
  );
  const longTerm = new WeaviateLongTermStore(client, config.collection, dimensions, {
    batchSize: config.batchSize,
    reachable: () => reachable,
    registry,
    tenantSleep,
    consistency: replication.consistency,
  });
  const check = async (): Promise<boolean> => {
    reachable = await isReady(readyUrl, config);
    if (reachable && !schemaChecked) {
      try {
        // Known from now on (the client caches it), so no later call asks for it.
        const version = (await client.getWeaviateVersion()).show();
        await ensureMemoryCollection(client, config.collection, dimensions, collectionCheck, replication);
        // A store from before the registry: register the users it holds, once.
        if (await registry.ensure()) await longTerm.backfillRegistry();
        schemaChecked = true;
        // Once per process: serving goes on, with a lexical signal that misses some matches.
        const defect = bm25Defect(version);
        if (defect) warnings.warn("weaviate version leaves matches out of bm25", { weaviateVersion: version, defect });
      } catch (error) {
        reachable = false;
        if (error instanceof SchemaMismatchError || error instanceof EmbedderMismatchError) throw error;
        return false;
      }
    }
    return reachable;
  };
  // The first check now, so a server with Weaviate up is ready at once; a
  // mismatch found now fails start-up, as it should.
  await check().catch((error: unknown) => {
    if (error instanceof SchemaMismatchError || error instanceof EmbedderMismatchError) throw error;
  });
  const asleepAtOpen =
    config.tenantSleep?.restoreOnClose && reachable ? await tenantSleep.sleeping().catch(() => undefined) : undefined;
  const sweeper =
    config.tenantSleep !== undefined && config.tenantSleep.idleMs > 0 && !config.tenantSleep.restoreOnClose
      ? setInterval(() => {
          // A failed sweep is retried at the next interval; calls never wait for one.
          if (reachable) tenantSleep.sweep().catch(() => {});
        }, config.tenantSleep.checkIntervalMs).unref()
      : undefined;
  return {
    longTerm,
    health: { name: "weaviate", check },
    close: async () => {
      clearInterval(sweeper);
      if (asleepAtOpen !== undefined && asleepAtOpen.size > 0)
        await tenantSleep.putToSleep(asleepAtOpen).catch(() => {});
      await client.close();
    },
  };
}

/**
 * Weaviate's readiness endpoint, asked directly: the client's own isReady()
 * schedules a version refresh whose failure (Weaviate gone a moment later)
 * is an unhandled rejection, which would end the process.
 */
async function isReady(url: string, config: WeaviateConfig): Promise<boolean> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(config.timeoutMs),
      ...(config.apiKey ? { headers: { authorization: `Bearer ${config.apiKey}` } } : {}),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
