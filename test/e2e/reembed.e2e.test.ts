import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { EmbedderMismatchError } from "../../src/domain/models.js";
import { openClient } from "../support/clients.js";
import { startFakeModelServer, type FakeModelServer } from "../support/openai-compatible-server.js";
import { startTestServer } from "../support/server-harness.js";
import { startWeaviate, type WeaviateServer } from "../support/weaviate-server.js";

/**
 * A store remembers which embedder made its vectors: a server configured
 * with another refuses to start, saying to run `engram reembed`, which
 * re-embeds every memory (resumably) and records the new embedder, after
 * which the server starts and recalls with it. On both long-term backends.
 */
const run = promisify(execFile);
const engram = [process.execPath, ["--import", "tsx", "src/main.ts"]] as const;
let models: FakeModelServer;
let weaviate: WeaviateServer;
beforeAll(async () => {
  models = await startFakeModelServer(64);
  weaviate = await startWeaviate();
});
afterAll(async () => {
  await models?.stop();
  await weaviate?.stop();
});

const backends: [string, () => Record<string, string>][] = [
  ["embedded", () => ({})],
  [
    "weaviate",
    () => ({
      ENGRAM_WEAVIATE_URL: weaviate.url,
      ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
      ENGRAM_WEAVIATE_COLLECTION: `Reembed${Date.now()}`,
    }),
  ],
];

describe.each(backends)("embedder identity on %s", (_, backendEnv) => {
  it("refuses another embedder at start-up, and engram reembed moves the store to it, resuming a checkpoint", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "engram-reembed-"));
    const base = { ...backendEnv(), ENGRAM_EMBEDDING_DIMENSIONS: "64" };
    const local = { ...base, ENGRAM_MODEL_PROVIDER: "local" };
    const openai = {
      ...base,
      ENGRAM_MODEL_PROVIDER: "openai",
      ENGRAM_OPENAI_BASE_URL: models.baseUrl,
      ENGRAM_OPENAI_EMBEDDING_MODEL: "embed-v2",
      ENGRAM_OPENAI_MAX_RETRIES: "0",
    };
    try {
      // Memories of three users, made by the local embedder.
      const first = await startTestServer(local, { dataDir });
      const { client } = openClient("grpc", first.baseUrl);
      const contents = ["I prefer Python for scripting tasks", "Lives in Lisbon with two cats", "Allergic to peanuts"];
      for (const [i, content] of contents.entries()) {
        await client.remember({
          scope: { namespace: "reembed", userId: `u${i}` },
          type: MemoryType.SEMANTIC,
          content,
          importance: 0.7,
        });
      }
      await first.stop();

      const refused = await startTestServer(openai, { dataDir }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(EmbedderMismatchError);
      expect((refused as Error).message).toMatch(
        /vectors made by embedder "local\/feature-hashing@1\/64" but the configured embedder is "openai\/embed-v2\/64": run `engram reembed`/,
      );

      // A previous run had finished u0: this one skips it and re-embeds the other two.
      const checkpoint = join(dataDir, "checkpoint.json");
      writeFileSync(checkpoint, JSON.stringify({ target: "openai/embed-v2/64", done: ["reembed\u0000u0"] }));
      const before = models.requests.length;
      const env = { ...process.env, ENGRAM_DATA_DIR: dataDir, ...openai };
      const { stdout } = await run(
        engram[0],
        [...engram[1], "reembed", "--batch-size", "2", "--checkpoint", checkpoint],
        {
          env,
        },
      );
      expect(JSON.parse(stdout)).toMatchObject({
        from: "local/feature-hashing@1/64",
        to: "openai/embed-v2/64",
        users: 2,
        memories: 2,
        skipped: 1,
      });
      const embedded = models.requests
        .slice(before)
        .filter((r) => r.path === "/v1/embeddings" && r.body.model === "embed-v2")
        .flatMap((r) => r.body.input as string[]);
      expect(embedded).toEqual(expect.arrayContaining(contents.slice(1)));
      expect(embedded).not.toContain(contents[0]);

      const second = await startTestServer(openai, { dataDir });
      try {
        const recalled = await openClient("grpc", second.baseUrl).client.recall({
          scope: { namespace: "reembed", userId: "u2" },
          query: "peanut allergy",
        });
        expect(recalled.memories.map((m) => m.memory?.content)).toContain("Allergic to peanuts");
      } finally {
        await second.stop();
      }
      // And the old embedder is refused now.
      expect(await startTestServer(local, { dataDir }).catch((e: unknown) => e)).toBeInstanceOf(EmbedderMismatchError);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
