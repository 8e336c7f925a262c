import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

/**
 * A thread with its own read-only connection to the embedded database, for
 * the queries whose cost the caller sets: a Recall's full-text match (an
 * 8 KiB query is hundreds of terms, a quarter of a second over 5,000
 * memories). node:sqlite is synchronous, so on the main thread such a query
 * froze the event loop for every tenant; here it only occupies this thread.
 * WAL lets this connection read while the main one writes, and it sees
 * every commit made before the query starts.
 *
 * Self-contained, as onnx-inference-worker.ts explains.
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
  // The store asks a handful of distinct queries: keep their prepared statements.
  const statements = new Map<string, StatementSync>();
  port.on("message", (request: ReadRequest) => {
    try {
      let statement = statements.get(request.sql);
      if (!statement) {
        if (statements.size >= 64) statements.clear();
        statement = db.prepare(request.sql);
        statements.set(request.sql, statement);
      }
      const rows = statement.all(...request.params) as Record<string, SQLInputValue>[];
      const reply: ReadReply = { id: request.id, rows };
      port.postMessage(reply);
    } catch (error) {
      const sqlite = error instanceof Error && (error as { code?: unknown }).code === "ERR_SQLITE_ERROR";
      const reply: ReadReply = {
        id: request.id,
        error: String(error instanceof Error ? error.message : error),
        sqlite,
      };
      port.postMessage(reply);
    }
  });
  port.postMessage({ ready: true });
}

const started = workerData as ReadWorkerData | undefined;
if (parentPort && started?.kind === "engram-sqlite-reader") {
  try {
    serve(started);
  } catch (error) {
    parentPort.postMessage({ failed: String(error) });
  }
}
