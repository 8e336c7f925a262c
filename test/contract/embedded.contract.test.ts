import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { dimensions } from "../support/memory-fixtures.js";
import { describeStorageContract } from "./storage-contract.js";

const dir = mkdtempSync(join(tmpdir(), "engram-contract-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStorageContract("embedded (SQLite file)", {
  tiers: new Set(["sessions", "working", "longTerm"]),
  open: async () => openEmbeddedStores({ path: join(dir, "engram.db"), dimensions }),
});
