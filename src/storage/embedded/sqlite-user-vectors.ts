import type { SQLInputValue } from "node:sqlite";
import type { MemoryType, Scope } from "../../domain/types.js";
import type { SqliteDatabase } from "./sqlite-database.js";
import type { UserVectors } from "./user-vector-cache.js";
import { allocateMatrix } from "./vector-matrix.js";

/**
 * One user's vectors read from the database for the cache: what the scan
 * filters on (type, superseded, speaker) from the memories_search index,
 * which holds all three, and the vectors from memory_vectors, both in key
 * order and paired here. Two range scans cost what the one table's did
 * (about 35 ms of SQL for 10,000 memories, in process), where SQLite's join
 * (a key lookup per row) took three times as long. Both reads are on this
 * connection with nothing in between (the event loop is not released), so
 * they see the same data.
 */
export function readUserVectors(database: SqliteDatabase, scope: Scope, dimensions: number): UserVectors {
  const rows = database.all(
    `SELECT id, type, superseded_by IS NOT NULL AS superseded, speaker FROM memories INDEXED BY memories_search
     WHERE namespace = ? AND user_id = ? ORDER BY id`,
    scope.namespace,
    scope.userId,
  );
  const vectors = database.all(
    "SELECT id, embedding FROM memory_vectors WHERE namespace = ? AND user_id = ? ORDER BY id",
    scope.namespace,
    scope.userId,
  );
  const ids: string[] = [];
  const types: MemoryType[] = [];
  const superseded: boolean[] = [];
  const speakers: string[] = [];
  const matrix = allocateMatrix(rows.length, dimensions);
  const rowBytes = new Uint8Array(matrix.buffer, matrix.byteOffset, matrix.byteLength);
  // Every row has its vector (written in one transaction, deleted by trigger), so the two lists pair up
  // index by index; were one missing, the rest pair by id (SQLite's order is by bytes, not JavaScript's).
  let byId: Map<string, SQLInputValue | undefined> | undefined;
  rows.forEach((row, i) => {
    const id = String(row.id);
    if (byId === undefined && vectors[i] !== undefined && String(vectors[i].id) !== id)
      byId = new Map(vectors.map((r) => [String(r.id), r.embedding]));
    const embedding = byId ? byId.get(id) : vectors[i]?.embedding;
    if (embedding === undefined) return; // a row without its vector is left out of the scan
    // The BLOB's bytes straight into the matrix's row (no aligned copy of each vector first).
    const bytes = embedding as Uint8Array;
    rowBytes.set(bytes.subarray(0, dimensions * 4), ids.length * dimensions * 4);
    ids.push(id);
    types.push(String(row.type) as MemoryType);
    superseded.push(Number(row.superseded) === 1);
    speakers.push(String(row.speaker ?? ""));
  });
  return { ids, types, superseded, speakers, matrix };
}
