import { describe, expect, it } from "vitest";
import { stalled } from "../../src/rpc/http1-slow-readers.js";

describe("HTTP/1.1 slow-reader policy", () => {
  it("is stalled only when bytes wait and none reached the kernel for the timeout", () => {
    const seen = { sent: 0, since: 0 };
    expect(stalled(seen, 100, 50, 0, 1000)).toBe(false); // progress: 0 -> 50
    expect(stalled(seen, 100, 50, 999, 1000)).toBe(false);
    expect(stalled(seen, 100, 50, 1000, 1000)).toBe(true);
  });

  it("a handler adding to the buffer is not progress; an empty buffer is never stalled", () => {
    const seen = { sent: 10, since: 0 };
    expect(stalled(seen, 100, 10, 500, 1000)).toBe(false);
    expect(stalled(seen, 5_000_000, 10, 1500, 1000)).toBe(true);
    const idle = { sent: 10, since: 0 };
    expect(stalled(idle, 0, 10, 60_000, 1000)).toBe(false);
    expect(idle.since).toBe(60_000);
  });
});
