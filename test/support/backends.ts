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
