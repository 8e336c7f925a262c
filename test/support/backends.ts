import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { afterAll, beforeAll } from "vitest";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { connectTransport } from "./clients.js";
import { startRedis, type RedisServer } from "./redis-servers.js";
import { startTestServer, type TestServer } from "./server-harness.js";
import { startWeaviate, type WeaviateServer } from "./weaviate-server.js";

/**
 * The deployments end-to-end suites run on: the embedded default, and Redis
 * + Weaviate (real servers, started for the calling test file). Each entry
 * is a name and the environment that configures Engram for it.
 */
export function serverBackends(): [string, () => Record<string, string>][] {
  const servers = startRedisAndWeaviate();
  return [
    ["embedded", () => ({})],
    ["Redis + Weaviate", () => servers.env()],
  ];
}

/** Redis and Weaviate for a test file (see startRedisAndWeaviate). */
export interface RedisAndWeaviate {
  /** The servers: read them in tests and hooks, once they have started. */
  readonly redis: RedisServer;
  readonly weaviate: WeaviateServer;
  /** Engram's environment for running on these two servers. */
  env(): Record<string, string>;
}

/**
 * Starts a real Redis and a real Weaviate before the calling file's (or
 * block's) tests and stops them after them. Call it before the hooks that
 * start Engram on them: after-hooks run in reverse order, so Engram is
 * stopped before its servers are.
 */
export function startRedisAndWeaviate(options: { redis?: Parameters<typeof startRedis>[0] } = {}): RedisAndWeaviate {
  let redis: RedisServer | undefined;
  let weaviate: WeaviateServer | undefined;
  beforeAll(async () => {
    [redis, weaviate] = await Promise.all([startRedis(options.redis), startWeaviate()]);
  });
  afterAll(async () => {
    await redis?.stop();
    await weaviate?.stop();
  });
  const started = () => {
    if (!redis || !weaviate) throw new Error("Redis and Weaviate have not started: use them inside a test or hook");
    return { redis, weaviate };
  };
  return {
    get redis() {
      return started().redis;
    },
    get weaviate() {
      return started().weaviate;
    },
    env: () => ({ ENGRAM_REDIS_URL: started().redis.url, ...weaviateEnv(started().weaviate) }),
  };
}

/** Engram's environment for running its long-term memory on this Weaviate. */
export function weaviateEnv(weaviate: WeaviateServer): Record<string, string> {
  return { ENGRAM_WEAVIATE_URL: weaviate.url, ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress };
}

/** One Engram server for the enclosing `describe` block (see startEngramOnBackend). */
export interface EngramOnBackend {
  /** The running server: read it in tests and hooks, once it has started. */
  readonly server: TestServer;
  /** A gRPC client of the server; taken at once, called in tests and hooks. */
  readonly client: Client<typeof MemoryService>;
}

/**
 * Starts Engram on a backend of `serverBackends()` before the enclosing
 * block's tests and destroys it (with its data) after them. `env` is added
 * to the backend's environment; a function is read at start, so it may name
 * servers other hooks start (a model server's URL).
 */
export function startEngramOnBackend(
  backendEnv: () => Record<string, string>,
  env: Record<string, string> | (() => Record<string, string>) = {},
): EngramOnBackend {
  let server: TestServer | undefined;
  let transport: Transport | undefined;
  const started = () => {
    if (!server || !transport) throw new Error("Engram has not started: use it inside a test or hook");
    return { server, transport };
  };
  beforeAll(async () => {
    server = await startTestServer({ ...backendEnv(), ...(typeof env === "function" ? env() : env) });
    transport = connectTransport("grpc", server.baseUrl);
  });
  afterAll(() => server?.destroy());
  // The client exists before the server does, so a block can name it once; each call goes to the server started.
  const lazy: Transport = {
    unary: (...args) => started().transport.unary(...args),
    stream: (...args) => started().transport.stream(...args),
  };
  return {
    get server() {
      return started().server;
    },
    client: createClient(MemoryService, lazy),
  };
}
