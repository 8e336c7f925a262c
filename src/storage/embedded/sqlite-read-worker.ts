import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

/**
 * A thread with its own read-only connection to the embedded database, for
 * the queries whose cost the caller sets: a Recall's full-text match (an
 * 8 KiB query is hundreds of terms, a quarter of a second over 5,000
 * memories). node:sqlite is synchronous, so on the main thread such a query
 * froze the event loop for every tenant; here it only occupies this thread.
 * WAL lets this connection read while the main one writes, and it sees
 * every commit made before the query starts (the main connection's writes
 * are synchronous, so every write acknowledged before a Recall began is
 * committed before its query is sent here).
 *
 * Self-contained (no imports from the project), as onnx-inference-worker.ts
 * explains: it runs as a worker both from dist/ and under tsx/vitest.
 */

export interface ReadWorkerData {
  readonly kind: "engram-sqlite-reader";
  readonly path: string;
}

export interface ReadRequest {
  readonly id: number;
  readonly sql: string;
  readonly params: readonly SQLInputValue[];
}

export type ReadReply =
  | { readonly id: number; readonly rows: Record<string, SQLInputValue>[] }
  | { readonly id: number; readonly error: string; readonly sqlite: boolean };

function serve(data: ReadWorkerData): void {
  const port = parentPort!;
  const db = new DatabaseSync(data.path, { readOnly: true, timeout: 5000 });
  // The store sends a handful of distinct statements: keep them prepared.
  const statements = new Map<string, StatementSync>();
  port.on("message", (request: ReadRequest | { close: true }) => {
    if ("close" in request) {
      db.close();
      port.close();
      return;
    }
    try {
      let statement = statements.get(request.sql);
      if (!statement) {
        if (statements.size >= 64) statements.clear();
        statement = db.prepare(request.sql);
        statements.set(request.sql, statement);
      }
      const rows = statement.all(...request.params) as Record<string, SQLInputValue>[];
      port.postMessage({ id: request.id, rows } satisfies ReadReply);
    } catch (error) {
      const sqlite = error instanceof Error && (error as { code?: unknown }).code === "ERR_SQLITE_ERROR";
      const message = error instanceof Error ? error.message : String(error);
      port.postMessage({ id: request.id, error: message, sqlite } satisfies ReadReply);
    }
  });
  port.postMessage({ ready: true });
}

const started = workerData as ReadWorkerData | undefined;
if (parentPort && started?.kind === "engram-sqlite-reader") {
  try {
    serve(started);
  } catch (error) {
    parentPort.postMessage({ failed: error instanceof Error ? error.message : String(error) });
  }
}
