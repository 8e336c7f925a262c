import weaviate, { type WeaviateClient } from "weaviate-client";
import type { HealthCheck, LongTermStore } from "../../domain/ports.js";
import { WeaviateLongTermStore } from "./weaviate-long-term-store.js";
import { ensureMemoryCollection } from "./weaviate-schema.js";

export interface WeaviateConfig {
  /** REST endpoint, e.g. http://weaviate:8080. */
  readonly url: string;
  /** gRPC endpoint as host:port; defaults to the REST host on port 50051. */
  readonly grpcAddress: string | undefined;
  readonly apiKey: string | undefined;
  readonly collection: string;
  readonly timeoutMs: number;
  readonly batchSize: number;
}

export interface WeaviateStores {
  readonly longTerm: LongTermStore;
  readonly health: HealthCheck;
  close(): Promise<void>;
}

/**
 * Connects to Weaviate and makes sure Engram's collection is there and
 * matches (creating it if missing). Fails start-up when Weaviate cannot be
 * reached or the collection differs: without its schema Engram cannot serve.
 */
export async function openWeaviateStores(config: WeaviateConfig, dimensions: number): Promise<WeaviateStores> {
  const rest = new URL(config.url);
  const [grpcHost, grpcPort] = (config.grpcAddress ?? `${rest.hostname}:50051`).split(":");
  const secure = rest.protocol === "https:";
  const seconds = Math.max(1, Math.ceil(config.timeoutMs / 1000));
  const client: WeaviateClient = await weaviate.connectToCustom({
    httpHost: rest.hostname,
    httpPort: Number(rest.port || (secure ? 443 : 80)),
    httpSecure: secure,
    grpcHost: grpcHost!,
    grpcPort: Number(grpcPort),
    grpcSecure: secure,
    ...(config.apiKey ? { authCredentials: new weaviate.ApiKey(config.apiKey) } : {}),
    timeout: { init: seconds, query: seconds, insert: seconds },
  });
  await ensureMemoryCollection(client, config.collection, dimensions);
  let reachable = true;
  return {
    longTerm: new WeaviateLongTermStore(client, config.collection, dimensions, {
      batchSize: config.batchSize,
      reachable: () => reachable,
    }),
    health: {
      name: "weaviate",
      check: async () => {
        try {
          reachable = await client.isReady();
        } catch {
          reachable = false;
        }
        return reachable;
      },
    },
    close: () => client.close(),
  };
}
