import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResourceExhaustedError } from "../../src/domain/errors.js";
import type { Stores } from "../../src/domain/ports.js";
import { dimensions, embedder, freshScope, memoryRecord, newMessage, sleep } from "../support/memory-fixtures.js";
import { describeListingContract } from "./memory-listing-contract.js";

/**
 * The storage contract: every backend runs this same suite against a real
 * instance of itself. `open` returns stores on a clean backend.
 */
export interface ContractBackend {
  open(): Promise<Stores>;
  /** Which tiers this backend serves; the others are not run against it. */
  readonly tiers: ReadonlySet<"sessions" | "working" | "longTerm">;
}

export function describeStorageContract(name: string, backend: ContractBackend): void {
  describe(`storage contract: ${name}`, () => {
    let stores: Stores;
    beforeAll(async () => {
      stores = await backend.open();
    });
    afterAll(async () => {
      await stores?.close();
    });

    if (backend.tiers.has("sessions"))
      describe("sessions", () => {
        it("appends in order with consecutive sequences and running token counts", async () => {
          const scope = freshScope();
          const first = await stores.sessions.append(
            scope,
            "s",
            [newMessage("hello there"), newMessage("how are you", "assistant")],
            60,
          );
          const second = await stores.sessions.append(scope, "s", [newMessage("fine")], 60);
          expect(first.sequences).toEqual([1, 2]);
          expect(second.sequences).toEqual([3]);
          expect(second.messageCount).toBe(3);
          const snapshot = await stores.sessions.read(scope, "s");
          expect(snapshot?.messages.map((m) => m.content)).toEqual(["hello there", "how are you", "fine"]);
          expect(snapshot?.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
          const tokens = snapshot!.messages.reduce((sum, m) => sum + m.tokenCount, 0);
          expect(snapshot?.tokenCount).toBe(tokens);
          expect(second.tokenCount).toBe(tokens);
          expect(snapshot?.summary).toBeUndefined();
        });

        it("keeps metadata, ids and when a message was said as given", async () => {
          const scope = freshScope();
          const message = { ...newMessage("with metadata"), metadata: { channel: "web", "trace.id": "abc-123" } };
          const imported = { ...newMessage("said last year"), occurredAt: new Date("2025-03-01T10:00:00Z") };
          await stores.sessions.append(scope, "s", [message, imported], 60);
          const [stored, old] = (await stores.sessions.read(scope, "s"))!.messages;
          expect(stored?.id).toBe(message.id);
          expect(stored?.metadata).toEqual(message.metadata);
          expect(stored?.occurredAt.getTime()).toBe(message.createdAt.getTime());
          expect(old?.occurredAt.toISOString()).toBe("2025-03-01T10:00:00.000Z");
        });

        it("keeps who said a message (its name), and no name when none was given", async () => {
          const scope = freshScope();
          const named = { ...newMessage("I moved to Porto"), name: "Maya" };
          await stores.sessions.append(scope, "s", [named, newMessage("nice")], 60);
          const [first, second] = (await stores.sessions.read(scope, "s"))!.messages;
          expect(first?.name).toBe("Maya");
          expect(second?.name ?? "").toBe("");
        });

        it("returns undefined for an unknown session", async () => {
          expect(await stores.sessions.read(freshScope(), "nope")).toBeUndefined();
          expect(await stores.sessions.delete(freshScope(), "nope")).toBeUndefined();
        });

        it("loses no message under concurrent appends", async () => {
          const scope = freshScope();
          const writers = 40;
          const results = await Promise.all(
            Array.from({ length: writers }, (_, i) =>
              stores.sessions.append(scope, "busy", [newMessage(`w${i}-a`), newMessage(`w${i}-b`)], 60),
            ),
          );
          const sequences = results.flatMap((r) => r.sequences).sort((a, b) => a - b);
          expect(sequences).toEqual(Array.from({ length: writers * 2 }, (_, i) => i + 1));
          const snapshot = await stores.sessions.read(scope, "busy");
          expect(snapshot?.messages).toHaveLength(writers * 2);
          // Each writer's two messages stay adjacent and in order: appends are atomic.
          for (let i = 0; i < writers; i++) {
            const a = snapshot!.messages.findIndex((m) => m.content === `w${i}-a`);
            expect(snapshot!.messages[a + 1]?.content).toBe(`w${i}-b`);
          }
        });

        it("commits a compaction over exactly the planned prefix, keeping later appends", async () => {
          const scope = freshScope();
          const sent = ["one", "two", "three", "four"].map((t) => newMessage(t));
          await stores.sessions.append(scope, "c", sent, 60);
          // A message arrives while the summary is being made.
          await stores.sessions.append(scope, "c", [newMessage("five")], 60);
          const outcome = await stores.sessions.commitCompaction(scope, "c", {
            expectedSummarizedThrough: 0,
            throughSequence: 3,
            firstFoldedId: sent[0]!.id,
            lastFoldedId: sent[2]!.id,
            summary: "one two three",
            summaryTokenCount: 3,
          });
          expect(outcome).toBe("committed");
          const snapshot = await stores.sessions.read(scope, "c");
          expect(snapshot?.messages.map((m) => m.content)).toEqual(["four", "five"]);
          expect(snapshot?.summary).toEqual({
            content: "one two three",
            tokenCount: 3,
            summarizedThroughSequence: 3,
            summarizedMessageCount: 3,
          });
          expect(snapshot?.tokenCount).toBe(3 + snapshot!.messages.reduce((s, m) => s + m.tokenCount, 0));
          const next = await stores.sessions.append(scope, "c", [newMessage("six")], 60);
          expect(next.sequences).toEqual([6]);
        });

        it("applies only one of two compactions planned from the same snapshot", async () => {
          const scope = freshScope();
          const sent = ["a", "b", "c", "d"].map((t) => newMessage(t));
          await stores.sessions.append(scope, "race", sent, 60);
          const commit = (summary: string) =>
            stores.sessions.commitCompaction(scope, "race", {
              expectedSummarizedThrough: 0,
              throughSequence: 2,
              firstFoldedId: sent[0]!.id,
              lastFoldedId: sent[1]!.id,
              summary,
              summaryTokenCount: 1,
            });
          const outcomes = await Promise.all([commit("first"), commit("second")]);
          expect([...outcomes].sort()).toEqual(["committed", "conflict"]);
          const snapshot = await stores.sessions.read(scope, "race");
          expect(snapshot?.messages.map((m) => m.content)).toEqual(["c", "d"]);
          expect(snapshot?.summary?.summarizedMessageCount).toBe(2);
        });

        it("refuses a compaction of a session that no longer exists", async () => {
          const scope = freshScope();
          const sent = [newMessage("a"), newMessage("b")];
          await stores.sessions.append(scope, "gone", sent, 60);
          await stores.sessions.delete(scope, "gone");
          const outcome = await stores.sessions.commitCompaction(scope, "gone", {
            expectedSummarizedThrough: 0,
            throughSequence: 1,
            firstFoldedId: sent[0]!.id,
            lastFoldedId: sent[0]!.id,
            summary: "x",
            summaryTokenCount: 1,
          });
          expect(outcome).toBe("conflict");
          expect(await stores.sessions.read(scope, "gone")).toBeUndefined();
        });

        it("refuses a compaction planned before the session was ended and started again", async () => {
          const scope = freshScope();
          const old = ["old-1", "old-2", "old-3", "old-4"].map((t) => newMessage(t));
          await stores.sessions.append(scope, "again", old, 60);
          // A compaction is planned from the old session...
          const plan = {
            expectedSummarizedThrough: 0,
            throughSequence: 3,
            firstFoldedId: old[0]!.id,
            lastFoldedId: old[2]!.id,
            summary: "old",
            summaryTokenCount: 1,
          };
          // ...which ends, and a new session of the same id begins, as long as the old one.
          await stores.sessions.delete(scope, "again");
          const fresh = ["new-1", "new-2", "new-3", "new-4"];
          await stores.sessions.append(
            scope,
            "again",
            fresh.map((t) => newMessage(t)),
            60,
          );
          expect(await stores.sessions.commitCompaction(scope, "again", plan)).toBe("conflict");
          const snapshot = await stores.sessions.read(scope, "again");
          expect(snapshot?.messages.map((m) => m.content)).toEqual(fresh);
          expect(snapshot?.summary).toBeUndefined();
        });

        it("applies an append with a key once, and forgets the key with its session", async () => {
          const scope = freshScope();
          const first = await stores.sessions.append(scope, "s", [newMessage("one"), newMessage("two")], 60, {
            key: "k1",
            fingerprint: "f1",
          });
          expect(first.replayed).toBe(false);
          const retried = await stores.sessions.append(scope, "s", [newMessage("one"), newMessage("two")], 60, {
            key: "k1",
            fingerprint: "f1",
          });
          expect(retried).toMatchObject({
            replayed: true,
            sequences: first.sequences,
            messageIds: first.messageIds,
            replayedFingerprint: "f1",
          });
          // The same key with other messages: still nothing appended, and the first fingerprint
          // comes back so the domain can refuse the reuse.
          const reused = await stores.sessions.append(scope, "s", [newMessage("other")], 60, {
            key: "k1",
            fingerprint: "f9",
          });
          expect(reused).toMatchObject({ replayed: true, replayedFingerprint: "f1", messageIds: first.messageIds });
          expect(retried.messageCount).toBe(2);
          const other = await stores.sessions.append(scope, "s", [newMessage("three")], 60, {
            key: "k2",
            fingerprint: "f2",
          });
          expect(other).toMatchObject({ replayed: false, sequences: [3] });
          const unkeyed = await stores.sessions.append(scope, "s", [newMessage("four")], 60);
          expect(unkeyed.replayed).toBe(false);
          const snapshot = await stores.sessions.read(scope, "s");
          expect(snapshot?.messages.map((m) => m.content)).toEqual(["one", "two", "three", "four"]);
          expect(snapshot?.messages.slice(0, 2).map((m) => m.id)).toEqual(first.messageIds);
          // A key belongs to one session, and is gone with it.
          expect(
            (await stores.sessions.append(scope, "elsewhere", [newMessage("x")], 60, { key: "k1", fingerprint: "f1" }))
              .replayed,
          ).toBe(false);
          await stores.sessions.delete(scope, "s");
          const reborn = await stores.sessions.append(scope, "s", [newMessage("again")], 60, {
            key: "k1",
            fingerprint: "f1",
          });
          expect(reborn).toMatchObject({ replayed: false, sequences: [1] });
          await stores.sessions.deleteUser(scope);
          expect(
            (await stores.sessions.append(scope, "s", [newMessage("once more")], 60, { key: "k1", fingerprint: "f1" }))
              .replayed,
          ).toBe(false);
        });

        it("expires a session after its TTL", async () => {
          const scope = freshScope();
          // Two seconds, so a busy machine cannot expire it before the first read.
          await stores.sessions.append(scope, "short", [newMessage("brief")], 2);
          expect(await stores.sessions.read(scope, "short")).toBeDefined();
          await sleep(2300);
          expect(await stores.sessions.read(scope, "short")).toBeUndefined();
          const fresh = await stores.sessions.append(scope, "short", [newMessage("again")], 60);
          expect(fresh.sequences).toEqual([1]);
        });

        it("moves the extraction watermark only from the value it was read at", async () => {
          const scope = freshScope();
          await stores.sessions.append(scope, "s", [newMessage("a"), newMessage("b"), newMessage("c")], 60);
          expect((await stores.sessions.read(scope, "s"))?.extractedThroughSequence).toBe(0);
          expect(await stores.sessions.commitExtraction(scope, "s", 0, 2)).toBe("committed");
          // A second learner that read the same watermark loses: the batch is learnt from once.
          expect(await stores.sessions.commitExtraction(scope, "s", 0, 3)).toBe("conflict");
          expect((await stores.sessions.read(scope, "s"))?.extractedThroughSequence).toBe(2);
          expect(await stores.sessions.commitExtraction(freshScope(), "s", 0, 1)).toBe("conflict");
        });

        it("lists idle sessions that hold messages not learnt from, and only those", async () => {
          const scope = freshScope();
          await stores.sessions.append(scope, "idle", [newMessage("a"), newMessage("b")], 60);
          await stores.sessions.append(scope, "learnt", [newMessage("c")], 60);
          await stores.sessions.commitExtraction(scope, "learnt", 0, 1);
          const mine = async (activeBefore: Date) =>
            (await stores.sessions.idleSessions(activeBefore, 10_000))
              .filter((r) => r.scope.userId === scope.userId)
              .map((r) => r.sessionId);
          expect(await mine(new Date(Date.now() - 60_000))).toEqual([]); // both were active a minute ago
          expect(await mine(new Date(Date.now() + 1000))).toEqual(["idle"]);
          await stores.sessions.commitExtraction(scope, "idle", 0, 2);
          expect(await mine(new Date(Date.now() + 1000))).toEqual([]);
        });

        it("delivers a learning job to one claimant until its lease runs out, and never after it is acknowledged", async () => {
          const queue = stores.learningQueue;
          const job = { scope: freshScope(), sessionId: "s", reason: "compaction" as const, enqueuedAt: new Date() };
          const mine = <T extends { scope: { userId: string } }>(claimed: readonly T[]) =>
            claimed.filter((c) => c.scope.userId === job.scope.userId);
          await queue.enqueue(job);
          expect(await queue.depth()).toBeGreaterThanOrEqual(1);
          const [first] = mine(await queue.claim(100, 300));
          expect(first).toMatchObject({ sessionId: "s", reason: "compaction" });
          expect(mine(await queue.claim(100, 300))).toEqual([]); // held by the first claimant
          await sleep(600);
          const [again] = mine(await queue.claim(100, 300)); // its claimant died: delivered again
          expect(again?.sessionId).toBe("s");
          await queue.ack(again!);
          await sleep(600);
          expect(mine(await queue.claim(100, 300))).toEqual([]);
        });

        it("deletes one session, or every session of one user and no one else's", async () => {
          const scope = freshScope();
          const other = freshScope();
          await stores.sessions.append(scope, "a", [newMessage("1"), newMessage("2")], 60);
          await stores.sessions.append(scope, "b", [newMessage("3")], 60);
          await stores.sessions.append(other, "a", [newMessage("keep")], 60);
          expect(await stores.sessions.delete(scope, "a")).toBe(2);
          expect(await stores.sessions.read(scope, "a")).toBeUndefined();
          expect(await stores.sessions.deleteUser(scope)).toBe(1);
          expect(await stores.sessions.read(scope, "b")).toBeUndefined();
          expect((await stores.sessions.read(other, "a"))?.messages).toHaveLength(1);
        });
      });

    if (backend.tiers.has("working"))
      describe("working", () => {
        it("merges entries and renews the TTL", async () => {
          const scope = freshScope();
          const first = await stores.working.set(scope, "t", { plan: "1. search", draft: "" }, 60, 10);
          const second = await stores.working.set(scope, "t", { plan: "2. write" }, 120, 10);
          expect(second.entries).toEqual({ plan: "2. write", draft: "" });
          expect(second.expiresAt.getTime()).toBeGreaterThan(first.expiresAt.getTime());
          const read = await stores.working.get(scope, "t");
          expect(read?.entries).toEqual(second.entries);
          expect(read?.updatedAt).toEqual(second.updatedAt);
          // Stores may derive expiry from a remaining TTL read a moment later.
          expect(Math.abs(read!.expiresAt.getTime() - second.expiresAt.getTime())).toBeLessThan(1000);
        });

        it("rejects a write past the entry limit without applying any of it", async () => {
          const scope = freshScope();
          await stores.working.set(scope, "t", { a: "1", b: "2" }, 60, 3);
          await expect(stores.working.set(scope, "t", { c: "3", d: "4" }, 60, 3)).rejects.toBeInstanceOf(
            ResourceExhaustedError,
          );
          expect((await stores.working.get(scope, "t"))?.entries).toEqual({ a: "1", b: "2" });
        });

        it("lists live tasks, most recently updated first", async () => {
          const scope = freshScope();
          await stores.working.set(scope, "older", { k: "v" }, 60, 10);
          await sleep(5);
          await stores.working.set(scope, "newer", { k: "v" }, 60, 10);
          expect((await stores.working.list(scope)).map((s) => s.taskId)).toEqual(["newer", "older"]);
          expect(await stores.working.list(freshScope())).toEqual([]);
        });

        it("deletes a task and reports its entries", async () => {
          const scope = freshScope();
          await stores.working.set(scope, "t", { a: "1", b: "2" }, 60, 10);
          expect(await stores.working.delete(scope, "t")).toBe(2);
          expect(await stores.working.get(scope, "t")).toBeUndefined();
          expect(await stores.working.delete(scope, "t")).toBeUndefined();
        });

        it("expires a task after its TTL", async () => {
          const scope = freshScope();
          await stores.working.set(scope, "t", { a: "1" }, 1, 10);
          await sleep(1300);
          expect(await stores.working.get(scope, "t")).toBeUndefined();
          expect(await stores.working.list(scope)).toEqual([]);
        });

        it("deletes every task of one user and no one else's", async () => {
          const scope = freshScope();
          const other = freshScope();
          await stores.working.set(scope, "a", { k: "v" }, 60, 10);
          await stores.working.set(scope, "b", { k: "v" }, 60, 10);
          await stores.working.set(other, "a", { k: "v" }, 60, 10);
          expect(await stores.working.deleteUser(scope)).toBe(2);
          expect(await stores.working.list(scope)).toEqual([]);
          expect(await stores.working.list(other)).toHaveLength(1);
        });
      });

    if (backend.tiers.has("longTerm"))
      describe("long-term listing, filters and history", () => describeListingContract(() => stores));

    if (backend.tiers.has("longTerm"))
      describe("long-term", () => {
        it("stores and reads a memory back as written", async () => {
          const scope = freshScope();
          const record = memoryRecord(scope, "The user's dog is called Biscuit", {
            type: "episodic",
            importance: 0.8,
            metadata: { source: "chat" },
            subject: "pet.name",
            pinned: true,
            source: { kind: "session", sessionId: "trip-planning", messageIds: ["m-1", "m-2"], caller: "" },
          });
          await stores.longTerm.insert(record);
          const read = await stores.longTerm.get(scope, record.id);
          expect({ ...read, embedding: undefined }).toEqual({ ...record, embedding: undefined });
          expect(Array.from(read!.embedding)).toEqual(Array.from(record.embedding));
          expect(await stores.longTerm.get(freshScope(), record.id)).toBeUndefined();
        });

        it("counts a user's memories", async () => {
          const scope = freshScope();
          expect(await stores.longTerm.count(scope)).toBe(0);
          await stores.longTerm.insert(memoryRecord(scope, "one"));
          await stores.longTerm.insert(memoryRecord(scope, "two"));
          await stores.longTerm.insert(memoryRecord(freshScope(), "someone else's"));
          expect(await stores.longTerm.count(scope)).toBe(2);
        });

        it("replaces a memory in place, and reports a missing one", async () => {
          const scope = freshScope();
          const record = memoryRecord(scope, "works at Acme");
          await stores.longTerm.insert(record);
          const later = new Date(record.updatedAt.getTime() + 1000);
          const changed = {
            ...memoryRecord(scope, "works at Initech", { id: record.id, createdAt: record.createdAt }),
            supersededBy: "other-id",
            validUntil: later,
            updatedAt: later,
          };
          expect(await stores.longTerm.update(changed)).toBe(true);
          const read = await stores.longTerm.get(scope, record.id);
          expect(read?.content).toBe("works at Initech");
          expect(read?.supersededBy).toBe("other-id");
          expect(read?.validUntil?.getTime()).toBe(later.getTime());
          expect(await stores.longTerm.update(memoryRecord(freshScope(), "nobody"))).toBe(false);
        });

        it("searches see each write at once: an insert, a supersession, an update of content", async () => {
          const scope = freshScope();
          const search = async (text: string, includeSuperseded = false) => {
            const [embedding] = await embedder.embed([text]);
            const hits = await stores.longTerm.search(scope, {
              embedding: embedding!,
              text,
              alpha: 0.5,
              types: [],
              includeSuperseded,
              limit: 5,
            });
            return hits.map((h) => h.record.content);
          };
          await stores.longTerm.insert(memoryRecord(scope, "plays the cello"));
          expect(await search("cello")).toEqual(["plays the cello"]);
          const fresh = memoryRecord(scope, "owns a red bicycle");
          await stores.longTerm.insert(fresh);
          expect((await search("red bicycle"))[0]).toBe("owns a red bicycle");
          await stores.longTerm.update({ ...fresh, supersededBy: "newer", validUntil: new Date() });
          expect(await search("red bicycle")).not.toContain("owns a red bicycle");
          expect(await search("red bicycle", true)).toContain("owns a red bicycle");
          const [moved] = await embedder.embed(["collects vinyl records"]);
          await stores.longTerm.update({
            ...fresh,
            content: "collects vinyl records",
            embedding: moved!,
            supersededBy: undefined,
            validUntil: undefined,
          });
          expect((await search("vinyl records"))[0]).toBe("collects vinyl records");
        });

        it("returns recall's candidates apart: cosine for the vector list, BM25 over content for the terms", async () => {
          const scope = freshScope();
          await stores.longTerm.insert(memoryRecord(scope, "plays the cello on Sundays", { type: "episodic" }));
          await stores.longTerm.insert(memoryRecord(scope, "owns a red bicycle"));
          await stores.longTerm.insert(memoryRecord(scope, "cello strings snapped", { type: "semantic" }));
          await stores.longTerm.insert(memoryRecord(freshScope(), "another user's cello"));
          const [embedding] = await embedder.embed(["cello"]);
          const found = await stores.longTerm.candidates(scope, {
            embedding: embedding!,
            terms: ["cello"],
            types: [],
            includeSuperseded: false,
            limit: 10,
          });
          expect(found.lexical.map((h) => h.record.content).sort()).toEqual([
            "cello strings snapped",
            "plays the cello on Sundays",
          ]);
          expect(found.lexical.every((h) => h.score > 0)).toBe(true);
          expect(found.vector.length).toBeGreaterThan(0);
          expect(found.vector.every((h) => h.score > 0 && h.score <= 1 + 1e-6)).toBe(true);
          const scores = found.vector.map((h) => h.score);
          expect(scores).toEqual([...scores].sort((a, b) => b - a));
          const episodic = await stores.longTerm.candidates(scope, {
            embedding: embedding!,
            terms: ["cello"],
            types: ["episodic"],
            includeSuperseded: false,
            limit: 10,
          });
          expect(episodic.lexical.map((h) => h.record.content)).toEqual(["plays the cello on Sundays"]);
          const wordless = await stores.longTerm.candidates(scope, {
            embedding: embedding!,
            terms: [],
            types: [],
            includeSuperseded: false,
            limit: 10,
          });
          expect(wordless.lexical).toEqual([]);
        });

        it("leaves access statistics to recordAccess: an update from a stale read keeps a concurrent bump", async () => {
          const scope = freshScope();
          const record = memoryRecord(scope, "likes hiking");
          await stores.longTerm.insert(record);
          const stale = (await stores.longTerm.get(scope, record.id))!;
          const at = new Date(Date.now() - 1000);
          await stores.longTerm.recordAccess(scope, new Map([[record.id, 2]]), at);
          expect(await stores.longTerm.update({ ...stale, importance: 0.9, updatedAt: new Date() })).toBe(true);
          const read = await stores.longTerm.get(scope, record.id);
          expect(read?.importance).toBeCloseTo(0.9);
          expect(read?.accessCount).toBe(2);
          expect(read?.lastAccessedAt?.getTime()).toBe(at.getTime());
        });

        it("finds the most similar memory first and never another user's", async () => {
          const scope = freshScope();
          const other = freshScope();
          await stores.longTerm.insert(memoryRecord(scope, "favourite programming language is Go"));
          await stores.longTerm.insert(memoryRecord(scope, "lives in Lisbon near the river"));
          await stores.longTerm.insert(memoryRecord(other, "favourite programming language is Go"));
          const [query] = await embedder.embed(["which programming language is the favourite"]);
          const hits = await stores.longTerm.search(scope, {
            embedding: query!,
            text: "programming language",
            alpha: 0.5,
            types: [],
            includeSuperseded: false,
            limit: 10,
          });
          expect(hits).toHaveLength(2);
          expect(hits[0]?.record.content).toBe("favourite programming language is Go");
          expect(hits[0]!.relevance).toBeGreaterThan(hits[1]!.relevance);
          expect(hits.every((h) => h.record.scope.userId === scope.userId)).toBe(true);
        });

        it("filters by type and hides superseded memories unless asked", async () => {
          const scope = freshScope();
          await stores.longTerm.insert(
            memoryRecord(scope, "prefers tea", { type: "preference", supersededBy: "newer" }),
          );
          await stores.longTerm.insert(memoryRecord(scope, "prefers coffee", { type: "preference" }));
          await stores.longTerm.insert(memoryRecord(scope, "drank coffee on Monday", { type: "episodic" }));
          const [query] = await embedder.embed(["prefers coffee or tea"]);
          const search = { embedding: query!, text: "coffee tea", alpha: 0.5, limit: 10 };
          const current = await stores.longTerm.search(scope, {
            ...search,
            types: ["preference"],
            includeSuperseded: false,
          });
          expect(current.map((h) => h.record.content)).toEqual(["prefers coffee"]);
          const history = await stores.longTerm.search(scope, {
            ...search,
            types: ["preference"],
            includeSuperseded: true,
          });
          expect(history.map((h) => h.record.content).sort()).toEqual(["prefers coffee", "prefers tea"]);
          const all = await stores.longTerm.search(scope, { ...search, types: [], includeSuperseded: false });
          expect(all).toHaveLength(2);
        });

        it("finds a memory by its words alone (BM25) when vectors miss it", async () => {
          const scope = freshScope();
          // The quokka memory's vector is about something else entirely: only its words can find it.
          const [elsewhere] = await embedder.embed(["tax forms and invoices for the accountant"]);
          const quokka = memoryRecord(scope, "visited the quokka sanctuary on Rottnest", { embedding: elsewhere! });
          await stores.longTerm.insert(quokka);
          for (const content of ["walks the dog at dawn", "plays chess on Sundays", "grows tomatoes", "reads poetry"]) {
            await stores.longTerm.insert(memoryRecord(scope, content));
          }
          const [query] = await embedder.embed(["quokka"]);
          const search = { embedding: query!, text: "quokka", types: [], includeSuperseded: false };
          const lexical = await stores.longTerm.search(scope, { ...search, alpha: 0, limit: 3 });
          expect(lexical[0]?.record.id).toBe(quokka.id);
          expect(lexical[0]?.relevance).toBeCloseTo(1, 3);
          const vectorOnly = await stores.longTerm.search(scope, { ...search, alpha: 1, limit: 1 });
          expect(vectorOnly[0]?.record.id).not.toBe(quokka.id);
          const hybrid = await stores.longTerm.search(scope, { ...search, alpha: 0.4, limit: 1 });
          expect(hybrid[0]?.record.id).toBe(quokka.id);
        });

        it("fuses by relative score: relevance = alpha × min-max(cosine) + (1 − alpha) × min-max(BM25)", async () => {
          const scope = freshScope();
          const [elsewhere] = await embedder.embed(["tax forms and invoices for the accountant"]);
          const records = [
            memoryRecord(scope, "visited the quokka sanctuary", { embedding: elsewhere! }),
            memoryRecord(scope, "walks the dog at dawn"),
            memoryRecord(scope, "plays chess on Sundays with the dog"),
            memoryRecord(scope, "grows tomatoes"),
          ];
          for (const record of records) await stores.longTerm.insert(record);
          const [query] = await embedder.embed(["quokka dog"]);
          const alpha = 0.4;
          const hits = await stores.longTerm.search(scope, {
            embedding: query!,
            text: "quokka",
            alpha,
            types: [],
            includeSuperseded: false,
            limit: 10,
          });
          // Fewer memories than the limit: every one pointing the query's way (cosine > 0) is a
          // vector candidate; only the first matches "quokka".
          const cosines = records.map((r) => r.embedding.reduce((sum, v, i) => sum + v * query![i]!, 0));
          const positive = cosines.filter((c) => c > 0);
          const [min, max] = [Math.min(...positive), Math.max(...positive)];
          const expected = records
            .map((r, i) => ({
              id: r.id,
              relevance:
                (cosines[i]! > 0 ? alpha * ((cosines[i]! - min) / (max - min)) : 0) + (i === 0 ? 1 - alpha : 0),
              candidate: cosines[i]! > 0 || i === 0,
            }))
            .filter((e) => e.candidate);
          expect(positive.length).toBeGreaterThan(1);
          expect(hits).toHaveLength(expected.length);
          for (const hit of hits) {
            expect(hit.relevance).toBeCloseTo(expected.find((e) => e.id === hit.record.id)!.relevance, 2);
          }
          expect(hits.map((h) => h.relevance)).toEqual([...hits.map((h) => h.relevance)].sort((a, b) => b - a));
        });

        it("with alpha 1 searches vectors alone and relevance is the cosine similarity", async () => {
          const scope = freshScope();
          const record = memoryRecord(scope, "rows on the river at weekends");
          await stores.longTerm.insert(record);
          const [query] = await embedder.embed(["rowing on a river"]);
          const hits = await stores.longTerm.search(scope, {
            embedding: query!,
            text: "rowing on a river",
            alpha: 1,
            types: [],
            includeSuperseded: false,
            limit: 5,
          });
          const cosine = record.embedding.reduce((sum, v, i) => sum + v * query![i]!, 0);
          expect(hits[0]?.relevance).toBeCloseTo(cosine, 4);
        });

        it("keeps a memory's speaker, finds it by the speaker's name (BM25) and filters by speaker", async () => {
          const scope = freshScope();
          const maya = memoryRecord(scope, "moved to Porto for a new job", { speaker: "Maya" });
          const tomas = memoryRecord(scope, "moved to Denver for a new job", { speaker: "Tomas" });
          const nobody = memoryRecord(scope, "moved house last spring");
          for (const record of [maya, tomas, nobody]) await stores.longTerm.insert(record);
          expect((await stores.longTerm.get(scope, maya.id))?.speaker).toBe("Maya");
          expect((await stores.longTerm.get(scope, nobody.id))?.speaker ?? "").toBe("");
          const [query] = await embedder.embed(["moved"]);
          const search = { embedding: query!, types: [], includeSuperseded: false, limit: 10 };
          const byName = await stores.longTerm.search(scope, { ...search, text: "Maya", alpha: 0 });
          expect(byName.map((h) => h.record.id)).toEqual([maya.id]);
          const filtered = await stores.longTerm.search(scope, {
            ...search,
            text: "moved job",
            alpha: 0.5,
            speakers: ["Tomas"],
          });
          expect(filtered.map((h) => h.record.id)).toEqual([tomas.id]);
          const vectorOnly = await stores.longTerm.search(scope, {
            ...search,
            text: "moved",
            alpha: 1,
            speakers: ["Maya", "Tomas"],
          });
          expect(vectorOnly.map((h) => h.record.id).sort()).toEqual([maya.id, tomas.id].sort());
        });

        it("returns the same hits without their embeddings when the caller does not want them", async () => {
          const scope = freshScope();
          for (const content of ["walks the dog at dawn", "the dog sleeps all day", "grows tomatoes"]) {
            await stores.longTerm.insert(memoryRecord(scope, content));
          }
          const [query] = await embedder.embed(["dog"]);
          const search = { embedding: query!, text: "dog", alpha: 0.5, types: [], includeSuperseded: false, limit: 10 };
          const full = await stores.longTerm.search(scope, search);
          const lean = await stores.longTerm.search(scope, { ...search, withEmbeddings: false });
          expect(lean.map((h) => [h.record.id, h.record.content, h.relevance])).toEqual(
            full.map((h) => [h.record.id, h.record.content, h.relevance]),
          );
          expect(full.every((h) => h.record.embedding.length === dimensions)).toBe(true);
        });

        it("honours the search limit", async () => {
          const scope = freshScope();
          for (let i = 0; i < 5; i++) await stores.longTerm.insert(memoryRecord(scope, `note number ${i}`));
          const [query] = await embedder.embed(["note"]);
          const hits = await stores.longTerm.search(scope, {
            embedding: query!,
            text: "note",
            alpha: 0.5,
            types: [],
            includeSuperseded: false,
            limit: 3,
          });
          expect(hits).toHaveLength(3);
        });

        it("records access counts and last access", async () => {
          const scope = freshScope();
          const record = memoryRecord(scope, "likes hiking");
          await stores.longTerm.insert(record);
          const at = new Date(Date.now() - 1000);
          await stores.longTerm.recordAccess(scope, new Map([[record.id, 1]]), at);
          await stores.longTerm.recordAccess(
            scope,
            new Map([
              [record.id, 2],
              ["missing", 1],
            ]),
            at,
          );
          const read = await stores.longTerm.get(scope, record.id);
          expect(read?.accessCount).toBe(3);
          expect(read?.lastAccessedAt?.getTime()).toBe(at.getTime());
        });

        it("deletes one memory, and every memory of one user and no one else's", async () => {
          const scope = freshScope();
          const other = freshScope();
          const a = memoryRecord(scope, "a");
          await stores.longTerm.insert(a);
          await stores.longTerm.insert(memoryRecord(scope, "b"));
          await stores.longTerm.insert(memoryRecord(other, "c"));
          expect(await stores.longTerm.delete(scope, a.id)).toBe(true);
          expect(await stores.longTerm.delete(scope, a.id)).toBe(false);
          expect(await stores.longTerm.deleteUser(scope)).toBe(1);
          const [query] = await embedder.embed(["c"]);
          const search = { embedding: query!, text: "c", alpha: 0.5, types: [], includeSuperseded: true, limit: 10 };
          expect(await stores.longTerm.search(scope, search)).toEqual([]);
          expect(await stores.longTerm.search(other, search)).toHaveLength(1);
        });

        it("deletes a band of stale, never-used, unpinned memories in bulk and nothing else", async () => {
          const scope = freshScope();
          const day = 86_400_000;
          const old = new Date(Date.now() - 100 * day);
          const doomed = memoryRecord(scope, "stale trivia", {
            importance: 0.1,
            createdAt: old,
            updatedAt: old,
            occurredAt: old,
          });
          const keep = [
            memoryRecord(scope, "important", { importance: 0.9, createdAt: old }),
            memoryRecord(scope, "pinned", { importance: 0.1, pinned: true, createdAt: old }),
            memoryRecord(scope, "used", { importance: 0.1, createdAt: old, accessCount: 1, lastAccessedAt: old }),
            memoryRecord(scope, "recently used", { importance: 0.1, createdAt: old, lastAccessedAt: new Date() }),
            memoryRecord(scope, "young", { importance: 0.1 }),
          ];
          for (const r of [doomed, ...keep]) await stores.longTerm.insert(r);
          const band = {
            importanceFrom: 0,
            importanceBelow: 0.5,
            lastUsedBefore: new Date(Date.now() - 30 * day),
            createdBefore: new Date(Date.now() - 7 * day),
          };
          const first = await stores.longTerm.deleteBand(scope, band);
          expect(first.deleted).toBe(1);
          expect(first.ids.every((id) => id === doomed.id)).toBe(true);
          expect(await stores.longTerm.get(scope, doomed.id)).toBeUndefined();
          for (const r of keep) expect(await stores.longTerm.get(scope, r.id), r.content).toBeDefined();
          expect((await stores.longTerm.deleteBand(scope, band)).deleted).toBe(0);
        });

        it("lists users and streams eviction candidates in batches, deleting by id", async () => {
          const namespace = `ns-${Date.now()}`;
          const alice = freshScope(namespace);
          const bob = freshScope(namespace);
          const records = [0, 1, 2, 3, 4].map((i) => memoryRecord(alice, `memory ${i}`, { importance: i / 10 }));
          for (const r of records) await stores.longTerm.insert(r);
          await stores.longTerm.insert(memoryRecord(bob, "bob's"));
          const users: string[] = [];
          for await (const user of stores.longTerm.users(namespace)) users.push(user.userId);
          expect(users.sort()).toEqual([alice.userId, bob.userId].sort());

          const batches: number[] = [];
          const seen: string[] = [];
          for await (const batch of stores.longTerm.evictionCandidates(alice, 2)) {
            batches.push(batch.length);
            seen.push(...batch.map((c) => c.id));
          }
          expect(batches.every((n) => n <= 2)).toBe(true);
          expect(seen.sort()).toEqual(records.map((r) => r.id).sort());

          expect(await stores.longTerm.deleteMany(alice, [records[0]!.id, records[1]!.id, "missing"])).toBe(2);
          expect(await stores.longTerm.get(alice, records[0]!.id)).toBeUndefined();
          expect(await stores.longTerm.get(alice, records[2]!.id)).toBeDefined();
        });
      });
  });
}
