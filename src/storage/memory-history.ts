import type { MemoryVersion } from "../domain/types.js";

/**
 * A memory's earlier versions from the JSON both stores keep them in
 * (`JSON.stringify` of MemoryVersion[]: dates as ISO strings); "" or a
 * missing value is no history.
 */
export function parseMemoryHistory(json: string | undefined): MemoryVersion[] {
  const stored = JSON.parse(json || "[]") as Record<string, unknown>[];
  return stored.map((v) => ({
    content: String(v.content),
    importance: Number(v.importance),
    subject: String(v.subject ?? ""),
    metadata: (v.metadata ?? {}) as Record<string, string>,
    validFrom: new Date(String(v.validFrom)),
    validUntil: new Date(String(v.validUntil)),
    replacedAt: new Date(String(v.replacedAt)),
  }));
}
