import { afterAll, beforeAll } from "vitest";
import { startRedis, type RedisServer } from "./redis-servers.js";
import { startWeaviate, type WeaviateServer } from "./weaviate-server.js";

/**
 * The deployments end-to-end suites run on: the embedded default, and Redis
 * + Weaviate (real servers, started for the calling test file). Each entry
 * is a name and the environment that configures Engram for it.
 */
export function serverBackends(): [string, () => Record<string, string>][] {
  let redis: RedisServer | undefined;
  let weaviate: WeaviateServer | undefined;
  beforeAll(async () => {
    [redis, weaviate] = await Promise.all([startRedis(), startWeaviate()]);
  });
  afterAll(async () => {
    await redis?.stop();
    await weaviate?.stop();
  });
  return [
    ["embedded", () => ({})],
    [
      "Redis + Weaviate",
      () => ({
        ENGRAM_REDIS_URL: redis!.url,
        ENGRAM_WEAVIATE_URL: weaviate!.url,
        ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate!.grpcAddress,
      }),
    ],
  ];
}
