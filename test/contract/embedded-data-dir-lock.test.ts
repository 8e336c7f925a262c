import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DatabaseInUseError, lockDatabase } from "../../src/storage/embedded/data-dir-lock.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";

/**
 * The claim a serving process holds on its embedded database, in one process
 * (test/e2e/process.e2e.test.ts covers two processes and kill -9).
 */
const dir = mkdtempSync(join(tmpdir(), "engram-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the embedded database lock", () => {
  it("refuses a second claim until the first is released, then grants it", () => {
    const path = join(dir, "claimed", "engram.db");
    const first = lockDatabase(path);
    expect(() => lockDatabase(path)).toThrow(DatabaseInUseError);
    expect(() => lockDatabase(path)).toThrow(`${path} is in use by another Engram process`);
    // Another database in the same directory is another claim.
    lockDatabase(join(dir, "claimed", "other.db")).release();
    first.release();
    first.release(); // twice is harmless (a close after a failed start)
    lockDatabase(path).release();
  });

  it("leaves the database itself to other connections (the read thread, the evict CronJob)", async () => {
    const path = join(dir, "shared.db");
    const lock = lockDatabase(path);
    const server = openEmbeddedStores({ path, dimensions: 4 });
    const cron = openEmbeddedStores({ path, dimensions: 4 });
    try {
      expect(await cron.sizes?.()).toEqual({ sessions: 0, working: 0, long_term: 0 });
      expect(await server.sizes?.()).toEqual({ sessions: 0, working: 0, long_term: 0 });
    } finally {
      await cron.close();
      await server.close();
      lock.release();
    }
  });
});
