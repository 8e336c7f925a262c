import { createHash } from "node:crypto";
import type { MessageInput } from "./types.js";

/**
 * What an append with an idempotency key asked for, as a SHA-256 over every
 * field of every message (object keys sorted, so field order does not
 * matter, and fields added to MessageInput later are covered without a
 * change here). A retry sends the same messages and gets the same
 * fingerprint; a key reused for different messages does not.
 */
export function appendFingerprint(inputs: readonly MessageInput[]): string {
  return createHash("sha256").update(stableJson(inputs)).digest("hex");
}

function stableJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.getTime());
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
