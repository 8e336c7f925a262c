import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { defaultNetworkLimits } from "../../src/domain/network-limits.js";

describe("ENGRAM_NET_* network limits", () => {
  it("default to the documented values", () => {
    expect(loadConfig({}).network).toEqual(defaultNetworkLimits);
    expect(defaultNetworkLimits).toMatchObject({
      maxConnections: 4096,
      maxConnectionsPerAddress: 1024,
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 60_000,
      idleTimeoutMs: 300_000,
      slowReaderTimeoutMs: 30_000,
    });
  });

  it("read seconds (fractions allowed) and MiB", () => {
    const network = loadConfig({
      ENGRAM_NET_HEADERS_TIMEOUT_SECONDS: "1.5",
      ENGRAM_NET_MAX_BUFFERED_REQUEST_MIB: "64",
      ENGRAM_NET_MAX_STREAMS: "100",
      ENGRAM_NET_MAX_CONNECTIONS_PER_ADDRESS: "0",
    }).network;
    expect(network.maxConnectionsPerAddress).toBe(0);
    expect(network.headersTimeoutMs).toBe(1500);
    expect(network.maxBufferedRequestBytes).toBe(64 * 2 ** 20);
    expect(network.maxStreams).toBe(100);
  });

  it.each([
    ["ENGRAM_NET_MAX_CONNECTIONS", "0"],
    ["ENGRAM_NET_MAX_CONNECTIONS_PER_ADDRESS", "-1"],
    ["ENGRAM_NET_IDLE_TIMEOUT_SECONDS", "soon"],
    ["ENGRAM_NET_SLOW_READER_TIMEOUT_SECONDS", "0"],
    ["ENGRAM_NET_MAX_BUFFERED_REQUEST_MIB", "4"],
    ["ENGRAM_NET_SESSION_MEMORY_MIB", "1.5"],
  ])("refuse %s=%s, naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: must be`));
  });
});
