import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { WeaviateClient } from "weaviate-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { tenantName } from "../../src/storage/weaviate/weaviate-long-term-store.js";
import { startRedisAndWeaviate } from "../support/backends.js";
import { openClient } from "../support/clients.js";
import { onnxModelDir } from "../support/onnx-model.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import { connectToWeaviate } from "../support/weaviate-direct.js";

/**
 * Idle users' Weaviate tenants are put to sleep (INACTIVE: no open files, no
 * memory) and wake on their next call by themselves: the caller sees the
 * right answer and no error. ForgetUser and eviction work on sleeping
 * tenants, and the `engram evict` job leaves asleep what it found asleep.
 */
const run = promisify(execFile);
const engram = [process.execPath, ["--import", "tsx", "src/main.ts"]] as const;
const collection = "SleepyMemory";
const servers = startRedisAndWeaviate();
let server: TestServer | undefined;
let direct: WeaviateClient;
let env: Record<string, string>;

beforeAll(async () => {
  env = {
    ...servers.env(),
    ENGRAM_WEAVIATE_COLLECTION: collection,
    ENGRAM_WEAVIATE_TENANT_IDLE_SECONDS: "1",
    ENGRAM_WEAVIATE_TENANT_SLEEP_CHECK_SECONDS: "1",
  };
  server = await startTestServer(env);
  direct = await connectToWeaviate(servers.weaviate);
});
afterAll(async () => {
  await server?.destroy();
  await direct?.close();
});

const scope = (userId: string) => ({ namespace: "sleepy", userId });
const status = async (userId: string) =>
  (await direct.collections.get(collection).tenants.getByName(tenantName(scope(userId))))?.activityStatus;

describe("sleeping tenants", () => {
  it("put idle users to sleep; a sleeping user's Recall, ForgetUser and eviction work without an error", async () => {
    const { client } = openClient("grpc", server!.baseUrl);
    const facts: Record<string, string> = {
      ana: "Ana keeps her bees on the roof of the Lisbon flat",
      ben: "Ben's allotment grows purple carrots",
      cy: "Cy rebuilt a 1972 motorbike engine over the winter",
    };
    for (const [userId, content] of Object.entries(facts)) {
      await client.remember({ scope: scope(userId), content, type: MemoryType.SEMANTIC, importance: 0.8 });
    }
    for (const userId of Object.keys(facts)) {
      await expect.poll(() => status(userId), { timeout: 15_000, interval: 250 }).toBe("INACTIVE");
    }

    // Recall wakes the tenant inside the call: the right memory, no error.
    const recall = await client.recall({ scope: scope("ana"), query: "where are the bees kept", topK: 3 });
    expect(recall.memories[0]?.memory?.content).toBe(facts.ana);
    expect(await status("ana")).toBe("ACTIVE");

    // ForgetUser on a sleeping tenant removes it.
    const forgotten = await client.forgetUser({ scope: scope("ben") });
    expect(Number(forgotten.memoriesDeleted)).toBe(1);
    expect(await status("ben")).toBeUndefined();
    expect((await client.recall({ scope: scope("ben"), query: "carrots", topK: 3 })).memories).toEqual([]);

    // Eviction reads a sleeping tenant's memories.
    const evicted = await client.evictStale({ namespace: "sleepy", userId: "cy", dryRun: true });
    expect(Number(evicted.scanned)).toBe(1);
  });

  it("`engram evict` puts back to sleep the tenants it found asleep", async () => {
    const { client } = openClient("grpc", server!.baseUrl);
    await client.remember({
      scope: scope("dee"),
      content: "Dee sings tenor in a choir",
      type: MemoryType.SEMANTIC,
      importance: 0.7,
    });
    await expect.poll(() => status("dee"), { timeout: 15_000, interval: 250 }).toBe("INACTIVE");
    // No server from here on: only the job could put the tenant back to sleep.
    await server!.destroy();
    server = undefined;
    // The job is its own process with the same configuration; reading each user's memories wakes each tenant.
    const dataDir = mkdtempSync(join(tmpdir(), "engram-evict-"));
    const { stdout } = await run(engram[0], [...engram[1], "evict", "--namespace", "sleepy", "--dry-run"], {
      env: { ...process.env, ...env, ENGRAM_DATA_DIR: dataDir, ENGRAM_ONNX_MODEL_DIR: onnxModelDir },
    });
    rmSync(dataDir, { recursive: true, force: true });
    expect(JSON.parse(stdout)).toMatchObject({ dryRun: true });
    expect(JSON.parse(stdout).scanned).toBeGreaterThanOrEqual(1);
    expect(await status("dee")).toBe("INACTIVE");
  });
});
