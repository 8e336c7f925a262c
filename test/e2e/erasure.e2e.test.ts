import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import type { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { openClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * Erasure erases, on the embedded default: after ForgetUser or ForgetMemory
 * the text is in none of the store's files (the database, its -wal and
 * -shm), read as raw bytes. Before, the WAL kept every page that had held
 * it (80 copies of one e-mail after a ForgetUser) and deleted rows stayed
 * in the database's free space. Redis and Weaviate: see
 * docs/redaction-and-erasure.md.
 */
let server: TestServer;
let client: Client<typeof MemoryService>;
beforeAll(async () => {
  server = await startTestServer();
  client = openClient("grpc", server.baseUrl).client;
});
afterAll(() => server?.destroy());

/** How many times `text` occurs in the bytes of every file under the data directory. */
function copiesOnDisk(text: string): number {
  const needle = Buffer.from(text);
  let copies = 0;
  for (const entry of readdirSync(server.dataDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const bytes = readFileSync(join(entry.parentPath, entry.name));
    for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + 1)) copies++;
  }
  return copies;
}

/** A phrase no other test writes, in words (the full-text index keeps words). */
const phrase = () => `the vault combination is written under the ${randomUUID().slice(0, 8)} lamp`;

describe("erasure on the embedded store", () => {
  it("ForgetUser leaves no copy of the user's memories, messages or working state in the files", async () => {
    const scope = { namespace: "erasure", userId: randomUUID() };
    const secret = phrase();
    // Many versions of it, so pages holding it are written again and again (as in the probe).
    for (let i = 0; i < 20; i++) {
      await client.remember({ scope, type: MemoryType.EPISODIC, content: `${secret} (note ${i})` });
    }
    await client.appendMessages({
      scope,
      sessionId: "s1",
      messages: [{ role: Role.USER, content: `Remember: ${secret}` }],
    });
    await client.setWorking({ scope, taskId: "t1", entries: { note: secret } });
    expect(copiesOnDisk(secret)).toBeGreaterThan(0);

    await client.forgetUser({ scope });

    expect(copiesOnDisk(secret)).toBe(0);
  });

  it("ForgetMemory leaves no copy of that memory, and keeps the others", async () => {
    const scope = { namespace: "erasure", userId: randomUUID() };
    const forgotten = phrase();
    const kept = phrase();
    const { memory } = await client.remember({ scope, type: MemoryType.EPISODIC, content: forgotten });
    await client.remember({ scope, type: MemoryType.EPISODIC, content: kept });
    expect(copiesOnDisk(forgotten)).toBeGreaterThan(0);

    await client.forgetMemory({ scope, memoryId: memory!.id });

    expect(copiesOnDisk(forgotten)).toBe(0);
    expect(copiesOnDisk(kept)).toBeGreaterThan(0);
    const { memories } = await client.listMemories({ scope });
    expect(memories.map((m) => m.content)).toEqual([kept]);
  });
});
