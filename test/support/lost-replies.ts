import { UnavailableError } from "../../src/domain/errors.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import type { SessionStore, Stores } from "../../src/domain/ports.js";
import type { Config } from "../../src/config.js";

/** Sessions whose name starts with this lose the reply of their first append. */
export const lostReplySessionPrefix = "lost-reply";

/**
 * The embedded stores, except that the first append to each session named
 * "lost-reply…" applies and then fails with UNAVAILABLE: a connection that
 * dropped after the write and before its reply. A client that retries such
 * an append without an idempotency key stores it twice.
 */
export function storesWithLostReplies(config: Config, dimensions: number): Stores {
  const stores = openEmbeddedStores({ path: config.store.sqlitePath, dimensions });
  const replied = new Set<string>();
  const sessions: SessionStore = Object.create(stores.sessions);
  sessions.append = async (scope, sessionId, messages, ttlSeconds, appendKey) => {
    const result = await stores.sessions.append(scope, sessionId, messages, ttlSeconds, appendKey);
    const session = `${scope.namespace}/${scope.userId}/${sessionId}`;
    if (sessionId.startsWith(lostReplySessionPrefix) && !replied.has(session)) {
      replied.add(session);
      throw new UnavailableError("embedded", "the connection dropped before the reply (simulated)");
    }
    return result;
  };
  return { ...stores, sessions };
}
