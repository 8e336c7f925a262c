import type { Caller, Permission } from "./authorization.js";
import { limits } from "./limits.js";

/**
 * The tokens file's entries (ENGRAM_AUTH_TOKENS_FILE): each a caller with the
 * credentials that prove it. config.ts reads the file once at start-up and
 * `rpc/authentication.ts` checks requests against the entries; the parsing
 * lives here, below both, so configuration never imports the RPC layer.
 */
export interface TokenEntry extends Caller {
  /** Hex SHA-256 of the token; absent for a caller known only by its client certificate. */
  readonly tokenSha256: string | undefined;
  /** The subject common name of the caller's client certificate (mTLS). */
  readonly certificateCn: string | undefined;
}

const permissions: readonly Permission[] = ["read", "write", "admin"];

/**
 * Validates the text of the tokens file at `path`: {"callers": [{name, tokenSha256,
 * certificateCn, namespaces, permissions}]}. A token hash or certificate CN
 * listed twice fails (which entry would win is a silent guess otherwise), and
 * so does a namespace no request could name ("Chat" would grant nothing).
 */
export function parseTokenEntries(text: string, path: string): TokenEntry[] {
  const parsed = JSON.parse(text) as { callers?: unknown };
  if (!Array.isArray(parsed.callers)) throw new Error(`${path}: expected {"callers": [...]}`);
  const entries = parsed.callers.map((raw: unknown, i: number) => readEntry(raw, `${path}: callers[${i}]`));
  for (const key of ["tokenSha256", "certificateCn"] as const) {
    const first = new Map<string, number>();
    entries.forEach((entry, i) => {
      const value = entry[key];
      if (value === undefined) return;
      const earlier = first.get(value);
      if (earlier !== undefined) {
        throw new Error(`${path}: callers[${i}].${key} "${value}" repeats callers[${earlier}]'s; each must be unique`);
      }
      first.set(value, i);
    });
  }
  return entries;
}

function readEntry(raw: unknown, where: string): TokenEntry {
  const c = raw as Partial<Record<keyof TokenEntry, unknown>>;
  if (typeof c.name !== "string" || c.name === "") throw new Error(`${where}.name is required`);
  if (c.tokenSha256 !== undefined && (typeof c.tokenSha256 !== "string" || !/^[0-9a-f]{64}$/.test(c.tokenSha256))) {
    throw new Error(`${where}.tokenSha256 must be 64 lower-case hex characters (engram hash-token <token>)`);
  }
  if (c.certificateCn !== undefined && (typeof c.certificateCn !== "string" || c.certificateCn === "")) {
    throw new Error(`${where}.certificateCn must be a non-empty string`);
  }
  if (c.tokenSha256 === undefined && c.certificateCn === undefined) {
    throw new Error(`${where} needs a tokenSha256, a certificateCn, or both`);
  }
  if (!Array.isArray(c.namespaces) || c.namespaces.length === 0 || !c.namespaces.every((n) => typeof n === "string")) {
    throw new Error(`${where}.namespaces must be a non-empty list of namespaces or "*"`);
  }
  const invalid = c.namespaces.find((n: string) => n !== "*" && !limits.namespacePattern.test(n));
  if (invalid !== undefined) {
    throw new Error(
      `${where}.namespaces: "${invalid}" is not a namespace (1-64 of a-z 0-9 . _ -, starting with a letter or digit) nor "*"`,
    );
  }
  if (!Array.isArray(c.permissions) || !c.permissions.every((p) => permissions.includes(p as Permission))) {
    throw new Error(`${where}.permissions must list of "read", "write", "admin"`);
  }
  return {
    name: c.name,
    tokenSha256: c.tokenSha256 as string | undefined,
    certificateCn: c.certificateCn as string | undefined,
    namespaces: c.namespaces as string[],
    permissions: c.permissions as Permission[],
  };
}
