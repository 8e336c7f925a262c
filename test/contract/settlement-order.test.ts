import { afterAll, describe, expect, it } from "vitest";
import { AccessTracker } from "../../src/domain/access-tracker.js";
import { MemoryIntake, type RememberInput } from "../../src/domain/memory-intake.js";
import { MemorySettlement } from "../../src/domain/memory-settlement.js";
import type { Embedder } from "../../src/domain/models.js";
import { LocalStatementClassifier } from "../../src/domain/write-gate.js";
import { openEmbeddedStores } from "../../src/storage/embedded/embedded-stores.js";
import { dimensions, embedder, freshScope, sleep } from "../support/memory-fixtures.js";

/**
 * Writes settle in the user's turn, after their (slow) embedding: one
 * received first may settle last. Intake and settlement over the real
 * embedded store, with an embedder that holds one text until released, so
 * the order is forced rather than hoped for (two replicas under load showed
 * it as several versions of one fact).
 */
const stores = openEmbeddedStores({ path: ":memory:", dimensions });
afterAll(() => stores.close());

/** The fixtures' embedder, holding any batch with `held` in it until `release()`. */
function holdingEmbedder(held: string): Embedder & { release(): void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    dimensions: embedder.dimensions,
    identity: embedder.identity,
    release,
    async embed(texts, signal) {
      if (texts.some((t) => t.includes(held))) await gate;
      return embedder.embed(texts, signal);
    },
  };
}

describe("settlement order", () => {
  it("updates one fact in place when a write received first settles after a later one", async () => {
    const slow = holdingEmbedder("Acme");
    const access = new AccessTracker(stores.longTerm, 60_000);
    const settlement = new MemorySettlement(stores.longTerm, slow, access, { maxMemoriesPerUser: 0 });
    const intake = new MemoryIntake(settlement, new LocalStatementClassifier(), { piiMode: "redact" });
    const scope = freshScope();
    const fact = (content: string): RememberInput => ({
      type: "semantic",
      content,
      importance: 0.5,
      metadata: {},
      subject: "employer",
      pinned: false,
      occurredAt: undefined,
      applyGate: false,
      caller: "t",
    });
    try {
      const first = intake.remember(scope, fact("I work at Acme"));
      await sleep(20); // received later by the clock
      const second = await intake.remember(scope, fact("I work at Initech"));
      slow.release();
      const settledLast = await first;
      expect(second.outcome).toBe("created");
      expect(settledLast).toMatchObject({ outcome: "updated", memory: { id: second.memory!.id } });
      const stored = await stores.longTerm.get(scope, second.memory!.id);
      expect(stored?.content).toBe("I work at Acme");
      expect(stored?.history?.map((v) => v.content)).toEqual(["I work at Initech"]);
      expect(await stores.longTerm.count(scope)).toBe(1);
    } finally {
      await access.close();
    }
  });
});
