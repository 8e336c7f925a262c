import { describe, expect, it } from "vitest";
import { AccessTracker } from "../../src/domain/access-tracker.js";
import { UnavailableError } from "../../src/domain/errors.js";
import { AccessWriteIncomplete, PendingAccess } from "../../src/domain/pending-access.js";
import type { LongTermStore } from "../../src/domain/ports.js";

const alice = { namespace: "n", userId: "alice" };
const bob = { namespace: "n", userId: "bob" };
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const counts = (batch: { counts: ReadonlyMap<string, number> } | undefined) => Object.fromEntries(batch?.counts ?? []);

describe("PendingAccess", () => {
  it("coalesces any number of recalls into one batch per user, summing returns and keeping the latest time", () => {
    const pending = new PendingAccess(100);
    pending.record(alice, ["a", "b"], at(2));
    pending.record(bob, ["x"], at(1));
    pending.record(alice, ["a"], at(1));
    expect(pending.size).toBe(3);
    const taken = pending.take();
    expect(taken).toHaveLength(2);
    const a = taken.find((b) => b.scope.userId === "alice");
    expect(counts(a)).toEqual({ a: 2, b: 1 });
    expect(a?.at).toEqual(at(2));
    expect(counts(taken.find((b) => b.scope.userId === "bob"))).toEqual({ x: 1 });
  });

  it("hands each return out once: a take leaves nothing queued", () => {
    const pending = new PendingAccess(100);
    pending.record(alice, ["a"], at(0));
    expect(pending.take()).toHaveLength(1);
    expect(pending.take()).toEqual([]);
    expect(pending.size).toBe(0);
  });

  it("ignores a recall that returned nothing", () => {
    const pending = new PendingAccess(100);
    pending.record(alice, [], at(0));
    expect(pending.take()).toEqual([]);
  });

  it("merges a failed batch back with what was recorded since, losing no count", () => {
    const pending = new PendingAccess(100);
    pending.record(alice, ["a", "b"], at(1));
    const [failed] = pending.take();
    pending.record(alice, ["a", "c"], at(3));
    expect(pending.restore(failed!)).toBe(0);
    const [again] = pending.take();
    expect(counts(again)).toEqual({ a: 2, b: 1, c: 1 });
    expect(again?.at).toEqual(at(3));
  });

  it("keeps at most its bound of memories when restoring, and says how many it left out", () => {
    const pending = new PendingAccess(3);
    pending.record(alice, ["a", "b"], at(0));
    const [failed] = pending.take();
    pending.record(bob, ["x", "y"], at(0));
    // Room for one more memory: alice's "a" fits, "b" does not.
    expect(pending.restore(failed!)).toBe(1);
    expect(pending.size).toBe(3);
    expect(counts(pending.take().find((b) => b.scope.userId === "alice"))).toEqual({ a: 1 });
  });

  it("always has room for counts of memories already queued", () => {
    const pending = new PendingAccess(1);
    pending.record(alice, ["a"], at(0));
    const [failed] = pending.take();
    pending.record(alice, ["a"], at(0));
    expect(pending.restore(failed!)).toBe(0);
    expect(counts(pending.take()[0])).toEqual({ a: 2 });
  });
});

describe("AccessTracker", () => {
  /** A store whose recordAccess fails as told, and records what it was given otherwise. */
  const storeFailing = (failures: unknown[]) => {
    const written: Record<string, number>[] = [];
    const store = {
      recordAccess: (_scope: unknown, c: ReadonlyMap<string, number>) => {
        const failure = failures.shift();
        if (failure) return Promise.reject(failure instanceof Function ? failure(c) : failure);
        written.push(Object.fromEntries(c));
        return Promise.resolve();
      },
    } as unknown as LongTermStore;
    return { store, written };
  };

  it("writes a batch refused as unavailable again at the next flush", async () => {
    const { store, written } = storeFailing([new UnavailableError("weaviate", "down")]);
    const errors: unknown[] = [];
    const tracker = new AccessTracker(store, 600_000, (e) => errors.push(e));
    tracker.record(alice, ["a", "b"], at(0));
    await tracker.flush();
    expect(written).toEqual([]);
    tracker.record(alice, ["a"], at(1));
    await tracker.close();
    expect(written).toEqual([{ a: 2, b: 1 }]);
    expect(errors).toHaveLength(1);
  });

  it("retries only what a partial write left unapplied", async () => {
    const partial = () =>
      new AccessWriteIncomplete(new Map([["b", 1]]), new UnavailableError("weaviate", "connection reset"));
    const { store, written } = storeFailing([partial]);
    const tracker = new AccessTracker(store, 600_000);
    tracker.record(alice, ["a", "b"], at(0));
    await tracker.flush();
    await tracker.close();
    expect(written).toEqual([{ b: 1 }]);
  });

  it("drops a batch the store rejected for another reason, and reports it", async () => {
    const { store, written } = storeFailing([new Error("bad request")]);
    const errors: unknown[] = [];
    const tracker = new AccessTracker(store, 600_000, (e) => errors.push(e));
    tracker.record(alice, ["a"], at(0));
    await tracker.flush();
    await tracker.close();
    expect(written).toEqual([]);
    expect(errors).toEqual([new Error("bad request")]);
  });
});
