import type { SQLInputValue } from "node:sqlite";
import { Worker } from "node:worker_threads";
import { UnavailableError } from "../../domain/errors.js";
import type { ReadReply, ReadRequest, ReadWorkerData } from "./sqlite-read-worker.js";

/**
 * Runs read-only queries on a worker thread's own connection
 * (sqlite-read-worker.ts says why). Started on the first query; if the
 * thread dies, the queries in flight fail as UNAVAILABLE and the next one
 * starts a new thread. Referenced only while it owes replies, so an idle
 * reader never keeps a finished process alive.
 */
export class SqliteReader {
  private worker: Worker | undefined;
  private ready: Promise<Worker> | undefined;
  private nextId = 0;
  private closed = false;
  private readonly waiting = new Map<
    number,
    { resolve: (rows: Record<string, SQLInputValue>[]) => void; reject: (error: Error) => void }
  >();

  constructor(private readonly path: string) {}

  async all(sql: string, params: readonly SQLInputValue[]): Promise<Record<string, SQLInputValue>[]> {
    if (this.closed) throw new UnavailableError("embedded store", "the database is closed");
    const worker = await (this.ready ?? this.spawn());
    const request: ReadRequest = { id: this.nextId++, sql, params };
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(request.id, { resolve, reject });
      worker.postMessage(request);
    });
  }

  /** Ends the thread after the queries already sent are answered (they are queued before the close). */
  async close(): Promise<void> {
    this.closed = true;
    const ready = this.ready;
    this.ready = undefined;
    const worker = await ready?.catch(() => undefined);
    if (!worker) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage({ close: true });
    await exited;
  }

  private spawn(): Promise<Worker> {
    const file = import.meta.url.endsWith(".ts") ? "./sqlite-read-worker.ts" : "./sqlite-read-worker.js";
    const data: ReadWorkerData = { kind: "engram-sqlite-reader", path: this.path };
    const worker = new Worker(new URL(file, import.meta.url), { workerData: data });
    this.worker = worker;
    this.ready = new Promise<Worker>((resolve, reject) => {
      const fail = (message: string) => {
        const error = new UnavailableError("embedded store", message);
        if (this.worker === worker) {
          this.worker = undefined;
          if (!this.closed) this.ready = undefined;
        }
        for (const pending of this.waiting.values()) pending.reject(error);
        this.waiting.clear();
        reject(error);
      };
      worker.on("error", (error) => fail(`the read thread failed: ${error.message}`));
      worker.on("exit", (code) => fail(`the read thread exited (code ${code})`));
      worker.on("message", (message: ReadReply | { ready: true } | { failed: string }) => {
        if ("ready" in message) {
          worker.unref();
          return resolve(worker);
        }
        if ("failed" in message) return fail(`the read thread could not open the database: ${message.failed}`);
        const pending = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (this.waiting.size === 0) worker.unref();
        if (!pending) return;
        if ("error" in message) {
          return pending.reject(
            message.sqlite ? new UnavailableError("embedded store", message.error) : new Error(message.error),
          );
        }
        pending.resolve(message.rows);
      });
    });
    // A failed start is reported to the query that waits for it; none may be unhandled.
    this.ready.catch(() => {});
    return this.ready;
  }
}
