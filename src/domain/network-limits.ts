/**
 * Bounds on what the network can make the server hold: connections, streams,
 * time and bytes. Read once from ENGRAM_NET_* (src/config.ts) and passed to
 * every listener; docs/hardening.md explains each and its default.
 */
export interface NetworkLimits {
  /** Open connections per listener (RPC, metrics, MCP); more are closed on accept. */
  readonly maxConnections: number;
  /** Open connections per client address (IPv6: per /64) and listener; 0 turns the cap off. */
  readonly maxConnectionsPerAddress: number;
  /** Open HTTP/2 streams across every connection of the RPC port; more are refused. */
  readonly maxStreams: number;
  /** Open calls needing no credentials (health, reflection) across every address. */
  readonly maxUnauthenticatedCalls: number;
  /** A new connection must complete its first request's headers within this. */
  readonly headersTimeoutMs: number;
  /** A call's request must arrive whole within this of its headers (not for streaming requests). */
  readonly bodyTimeoutMs: number;
  /** A connection with no call open is closed after this. */
  readonly idleTimeoutMs: number;
  /** A response the client stops reading is cut off after this without progress. */
  readonly slowReaderTimeoutMs: number;
  /** Bytes of request bodies held at once across every call still receiving one. */
  readonly maxBufferedRequestBytes: number;
  /** nghttp2's own buffers per HTTP/2 connection (Node's maxSessionMemory), in MiB. */
  readonly sessionMemoryMiB: number;
}

export const defaultNetworkLimits: NetworkLimits = {
  maxConnections: 4096,
  maxConnectionsPerAddress: 1024,
  maxStreams: 4096,
  maxUnauthenticatedCalls: 1024,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 60_000,
  idleTimeoutMs: 300_000,
  slowReaderTimeoutMs: 30_000,
  maxBufferedRequestBytes: 512 * 1024 * 1024,
  sessionMemoryMiB: 64,
};
