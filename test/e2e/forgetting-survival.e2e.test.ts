import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { MemoryType, RememberOutcome } from "../../src/gen/engram/v1/long_term_pb.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";

/**
 * The survival table (docs/concepts.md), end to end: 10,000 memories imported with
 * their last use spread over a year, then one EvictStale with the default
 * policy. Exactly the memories the table says outlive their idle time
 * survive. The table is read from that page itself, so the two cannot
 * drift apart.
 */
const backends = serverBackends();
const day = 86_400_000;

/** importance -> days survived unused, by times recalled (0, 1, 3), from the survival table in docs/concepts.md. */
function readmeSurvivalTable(): Map<number, [number, number, number]> {
  const readme = readFileSync(new URL("../../docs/concepts.md", import.meta.url), "utf8");
  const rows = [...readme.matchAll(/^\s*\| (0\.\d+|1\.0) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|$/gm)];
  if (rows.length < 5) throw new Error("docs/concepts.md has no survival table rows");
  const days = (cell: string) => Number(cell.replace(/,/g, ""));
  return new Map(rows.map((r) => [Number(r[1]), [days(r[2]!), days(r[3]!), days(r[4]!)]]));
}

describe.each(backends)("forgetting with the defaults on %s", (_, backendEnv) => {
  // The hashed embedder: this is the forgetting policy over 10,000 memories,
  // which no embedder changes, and 20,000 model inferences would double the
  // suite's time on two cores. The default embedder's own tests are
  // local-onnx.e2e.test.ts and every story test.
  const { client } = startEngramOnBackend(backendEnv, { ENGRAM_MODEL_PROVIDER: "local" });

  it("keeps exactly what the survival table in docs/concepts.md says, of 10,000 memories used over a year", async () => {
    const table = readmeSurvivalTable();
    const importances = [...table.keys()];
    const recalls = [0, 1, 3] as const;
    const scope = { namespace: "survival", userId: randomUUID() };
    const now = Date.now();
    const expected = new Set<string>();
    let expectedEvicted = 0;
    for (let batch = 0; batch < 10; batch++) {
      const plan = Array.from({ length: 1000 }, (_, j) => {
        const k = batch * 1000 + j;
        const importance = importances[k % importances.length]!;
        const recall = Math.floor(k / importances.length) % recalls.length;
        const survives = table.get(importance)![recall]!;
        // Idle 8 to 372 days (past the 7-day minimum age), half a day off any whole day, and never
        // within the table's rounding (the day it lists).
        let idleDays = 8 + ((k * 7919) % 365);
        if (idleDays === survives) idleDays += 1;
        const lastUse = now - (idleDays + 0.5) * day;
        const accessCount = recalls[recall]!;
        return {
          keep: idleDays < survives,
          memory: {
            type: MemoryType.EPISODIC,
            content: `Imported note ${k}: ${randomUUID()} ${randomUUID()}`,
            importance,
            createdAt: timestampFromDate(new Date(accessCount === 0 ? lastUse : lastUse - 10 * day)),
            ...(accessCount > 0 ? { lastAccessedAt: timestampFromDate(new Date(lastUse)) } : {}),
            accessCount: BigInt(accessCount),
          },
        };
      });
      const { results } = await client.importMemories({ scope, memories: plan.map((p) => p.memory) });
      expect(results.filter((r) => r.outcome !== RememberOutcome.CREATED)).toEqual([]);
      results.forEach((r, i) => (plan[i]!.keep ? expected.add(r.memoryId) : expectedEvicted++));
    }
    // Both sides of the table are exercised, for every row.
    expect(expected.size).toBeGreaterThan(1000);
    expect(expectedEvicted).toBeGreaterThan(1000);

    const report = await client.evictStale({ namespace: scope.namespace, userId: scope.userId });
    expect(report.evicted).toBe(BigInt(expectedEvicted));

    const survivors: string[] = [];
    let pageToken = "";
    do {
      const page = await client.listMemories({ scope, pageSize: 1000, pageToken });
      survivors.push(...page.memories.map((m) => m.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(survivors.length).toBe(expected.size);
    expect(survivors.filter((id) => !expected.has(id))).toEqual([]);
  }, 900_000);
});
