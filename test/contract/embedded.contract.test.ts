import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { dimensions, embedder, freshScope, memoryRecord } from "../support/memory-fixtures.js";
import { describeStorageContract } from "./storage-contract.js";

const dir = mkdtempSync(join(tmpdir(), "engram-contract-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStorageContract("embedded (SQLite file)", {
  tiers: new Set(["sessions", "working", "longTerm"]),
  open: async () => openEmbeddedStores({ path: join(dir, "engram.db"), dimensions }),
});

describe("embedded store specifics", () => {
  it("sees writes made through another connection to the same file (the evict CronJob)", async () => {
    const path = join(dir, "shared.db");
    const server = openEmbeddedStores({ path, dimensions });
    const cron = openEmbeddedStores({ path, dimensions });
    try {
      const scope = freshScope();
      const doomed = memoryRecord(scope, "a note about gardening");
      await server.longTerm.insert(doomed);
      const [query] = await embedder.embed(["gardening"]);
      const search = { embedding: query!, text: "gardening", types: [], includeSuperseded: false, limit: 5 };
      expect(await server.longTerm.search(scope, search)).toHaveLength(1); // warms the vector cache
      await cron.longTerm.deleteMany(scope, [doomed.id]);
      await cron.longTerm.insert(memoryRecord(scope, "a note about gardening tools"));
      const hits = await server.longTerm.search(scope, search);
      expect(hits.map((h) => h.record.content)).toEqual(["a note about gardening tools"]);
    } finally {
      await server.close();
      await cron.close();
    }
  });
});
