import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { startEngramProcess, type EngramProcess } from "./engram-process.js";

/**
 * A database of seeded memories, imported once through the server's own
 * ImportMemories and kept as a file, so the next run starts from a copy
 * instead of embedding and settling ten thousand memories again (minutes
 * on the loaded 2-core machine). The key names what was seeded and the
 * model file's size; a database seeded with another embedder fails to open
 * (EmbedderMismatchError), so a stale file is loud, never silently used.
 * BENCH_SEED_CACHE (a directory; default: the temporary directory's
 * engram-bench-seed) holds the files; delete one to seed afresh.
 */
export async function seededDatabase(
  key: string,
  modelFile: string,
  seed: (engram: EngramProcess) => Promise<void>,
): Promise<{ path: string; seededSeconds: number | undefined }> {
  const dir = process.env.BENCH_SEED_CACHE ?? join(tmpdir(), "engram-bench-seed");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${key}-model${statSync(modelFile).size}.db`);
  if (existsSync(path)) return { path, seededSeconds: undefined };
  const engram = await startEngramProcess({ ENGRAM_QUERY_EMBEDDING_CACHE: "0" });
  try {
    const started = performance.now();
    await seed(engram);
    const seededSeconds = (performance.now() - started) / 1000;
    // A consistent copy of the live database (WAL included) without stopping the server.
    const partial = `${path}.partial`;
    rmSync(partial, { force: true });
    const source = new DatabaseSync(engram.sqlitePath, { readOnly: true });
    try {
      source.prepare("VACUUM INTO ?").run(partial);
    } finally {
      source.close();
    }
    renameSync(partial, path);
    return { path, seededSeconds };
  } finally {
    await engram.stop();
  }
}
