import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";

/**
 * Is thrown if another live process holds the embedded database: a running
 * `engram serve`, `engram mcp` or `engram reembed` on the same file.
 */
export class DatabaseInUseError extends Error {
  override name = "DatabaseInUseError";

  constructor(
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(`${path} is in use by another Engram process`, options);
  }
}

/** A serving process's hold on its embedded database; `release` on clean close. */
export interface DatabaseLock {
  release(): void;
}

/**
 * Claims the embedded database at `path` for this process, or throws
 * DatabaseInUseError when another live process holds it. The store keeps
 * per-user vector caches, write ordering and settlement state in memory, so
 * one serving process per file; one-shot jobs (`engram evict`, `engram
 * probe`) open the file beside it without claiming it.
 *
 * The claim is an OS lock, not a pid file: an exclusive SQLite transaction
 * held open on `<path>-lock` (Engram's own file, not one of SQLite's) by a
 * dedicated connection. SQLite's locks are fcntl locks on POSIX (LockFileEx
 * on Windows), which the kernel drops when the process dies, so a crash
 * (kill -9) or a container restarted with the same pid (always 1 in
 * Kubernetes) never leaves a stale claim. Within one process SQLite keeps
 * the same lock between connections, so an in-process second claim is
 * refused too until the first is released. The journal is in memory: the
 * transaction never writes, and no `-journal` file is left after a crash.
 *
 * Never open the lock file any other way in this process: closing any file
 * descriptor on a file drops the process's fcntl locks on it.
 */
export function lockDatabase(path: string): DatabaseLock {
  if (path === ":memory:") return { release: () => {} };
  mkdirSync(dirname(path), { recursive: true });
  // timeout 0: a held lock is refused at once, not waited for.
  const db = new DatabaseSync(`${path}-lock`, { timeout: 0 });
  try {
    db.exec("PRAGMA journal_mode = MEMORY");
    db.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    db.close();
    if (isBusy(error)) throw new DatabaseInUseError(path, { cause: error });
    throw error;
  }
  return {
    release: () => {
      if (db.isOpen) db.close();
    },
  };
}

/** SQLITE_BUSY (5) or SQLITE_LOCKED (6), whichever statement met the other holder's lock. */
function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown } | undefined)?.errcode;
  return typeof code === "number" && ((code & 0xff) === 5 || (code & 0xff) === 6);
}
