import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { timestampRange } from "../../src/domain/validation.js";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";
import { expectStatus } from "../support/expect-status.js";

/**
 * One range of timestamps on every backend: a time outside it is
 * INVALID_ARGUMENT naming the field and the range, and the range's own
 * ends work. Before, a ListMemories filter at the end of year 9999 answered
 * INTERNAL on Weaviate (and was accepted on the embedded store).
 */
const backends = serverBackends();
const endOf9999 = { seconds: 253_402_300_799n, nanos: 999_999_999 };

describe.each(backends)("timestamps on %s", (_, backendEnv) => {
  const { client } = startEngramOnBackend(backendEnv);
  const newScope = () => ({ namespace: "times", userId: randomUUID() });

  it("refuses a filter bound beyond the range with INVALID_ARGUMENT naming the field and the range", async () => {
    const scope = newScope();
    for (const filter of [{ createdFrom: endOf9999 }, { occurredBefore: endOf9999 }]) {
      await expectStatus(
        client.listMemories({ scope, filter }),
        Code.InvalidArgument,
        /filter\.(created_from|occurred_before): must be between 1678-01-01T00:00:00\.000Z and 2261-12-31T23:59:59\.999Z \(got [^)]+\); leave a filter bound unset for an open range/,
      );
    }
    await expectStatus(
      client.recall({ scope, query: "anything", filter: { createdBefore: { seconds: -62_135_596_800n, nanos: 0 } } }),
      Code.InvalidArgument,
      /created_before: must be between/,
    );
  });

  it("refuses a memory that happened outside the range, on every write path", async () => {
    const scope = newScope();
    const ancient = timestampFromDate(new Date("1500-01-01T00:00:00Z"));
    await expectStatus(
      client.remember({ scope, type: MemoryType.SEMANTIC, content: "I live in Porto", occurredAt: ancient }),
      Code.InvalidArgument,
      /occurred_at: must be between/,
    );
    await expectStatus(
      client.importMemories({ scope, memories: [{ type: MemoryType.SEMANTIC, content: "x", createdAt: endOf9999 }] }),
      Code.InvalidArgument,
      /memories\[0\]\.created_at: must be between/,
    );
  });

  it("accepts the range's own ends as filter bounds", async () => {
    const scope = newScope();
    await client.remember({ scope, type: MemoryType.SEMANTIC, content: "I live in Porto" });
    const { memories } = await client.listMemories({
      scope,
      filter: {
        createdFrom: timestampFromDate(timestampRange.min),
        createdBefore: timestampFromDate(timestampRange.max),
        occurredFrom: timestampFromDate(timestampRange.min),
        occurredBefore: timestampFromDate(timestampRange.max),
      },
    });
    expect(memories.map((m) => m.content)).toEqual(["I live in Porto"]);
  });
});
