import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/domain/rate-limit.js";

describe("RateLimiter", () => {
  it("allows a burst, then one call per refill interval, per caller", () => {
    let now = 0;
    const limiter = new RateLimiter(10, 3, () => now);
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([0, 0, 0]);
    expect(limiter.take("a")).toBe(100);
    expect(limiter.take("b")).toBe(0);
    now += 100;
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(100);
  });

  it("never stores more than the burst", () => {
    let now = 0;
    const limiter = new RateLimiter(100, 2, () => now);
    now += 60_000;
    expect([limiter.take("a"), limiter.take("a")]).toEqual([0, 0]);
    expect(limiter.take("a")).toBeGreaterThan(0);
  });
});
