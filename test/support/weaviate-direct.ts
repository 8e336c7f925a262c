import weaviate, { type WeaviateClient } from "weaviate-client";
import type { WeaviateServer } from "./weaviate-server.js";

/**
 * A weaviate-client connection straight to a test's Weaviate, beside
 * Engram: for a test to look at or change what Engram stored there (a
 * tenant's activity status, the raw objects). The caller closes it.
 */
export function connectToWeaviate(server: WeaviateServer): Promise<WeaviateClient> {
  return weaviate.connectToCustom({
    httpHost: "127.0.0.1",
    httpPort: server.httpPort,
    grpcHost: "127.0.0.1",
    grpcPort: server.grpcPort,
  });
}
