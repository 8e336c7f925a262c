import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";
import { expectStatus } from "../support/expect-status.js";

/**
 * Write paths hold the same line whichever way a write arrives, on the
 * embedded default and on Redis + Weaviate: a memory learnt from a session
 * respects the 8 KiB memory limit like Remember does, an idempotency
 * key means one append, never a silent drop of different messages, and a
 * metadata key with '=' is refused wherever metadata is written or matched.
 */
const backends = serverBackends();

describe.each(backends)("write paths on %s", (_, backendEnv) => {
  const { client } = startEngramOnBackend(backendEnv);
  const newScope = () => ({ namespace: "paths", userId: randomUUID() });
  const user = (content: string) => ({ role: Role.USER, content });

  it("does not learn a memory above the 8 KiB content limit from EndSession", async () => {
    const scope = newScope();
    // Both are preferences the gate keeps; one is 9 KiB long (a message may be 32 KiB).
    const long = `I prefer long answers. ${"Tell me everything about the history of tea. ".repeat(205)}`;
    expect(Buffer.byteLength(long)).toBeGreaterThan(8 * 1024);
    await client.appendMessages({ scope, sessionId: "s", messages: [user(long), user("I prefer green tea")] });
    const ended = await client.endSession({ scope, sessionId: "s" });
    expect(ended.decisions.map((d) => [d.stored, d.reason])).toEqual([
      [false, "too-long"],
      [true, "explicit-preference"],
    ]);
    const recalled = await client.recall({ scope, query: "tea preference", topK: 10 });
    expect(recalled.memories.map((m) => m.memory?.content)).toEqual(["I prefer green tea"]);
  });

  it("refuses an idempotency key reused for different messages, naming the field", async () => {
    const scope = newScope();
    const first = { scope, sessionId: "s", idempotencyKey: "call-1", messages: [user("first message")] };
    await client.appendMessages(first);
    // The same messages again are a retry: replayed, not refused.
    expect((await client.appendMessages(first)).replayed).toBe(true);
    await expectStatus(
      client.appendMessages({ ...first, messages: [user("a different message")] }),
      Code.InvalidArgument,
      /^idempotency_key: "call-1" was already used in this session for different messages/,
    );
    // Metadata is part of the append too.
    await expectStatus(
      client.appendMessages({ ...first, messages: [{ ...user("first message"), metadata: { k: "v" } }] }),
      Code.InvalidArgument,
      /idempotency_key/,
    );
    const read = await client.getMessages({ scope, sessionId: "s" });
    expect(read.messages.map((m) => m.content)).toEqual(["first message"]);
  });

  it("refuses '=' in a metadata key on every path, naming the field", async () => {
    const scope = newScope();
    // Weaviate matches metadata as "key=value" strings, where {"a=b": "c"} and {"a": "b=c"} are one entry.
    const metadata = { "a=b": "c" };
    const { memory } = await client.remember({ scope, type: MemoryType.SEMANTIC, content: "A labelled fact" });
    const refusals: [() => Promise<unknown>, RegExp][] = [
      [() => client.remember({ scope, type: MemoryType.SEMANTIC, content: "x", metadata }), /^metadata\["a=b"\]/],
      [
        () => client.updateMemory({ scope, memoryId: memory!.id, metadata, replaceMetadata: true }),
        /^metadata\["a=b"\]/,
      ],
      [
        () => client.importMemories({ scope, memories: [{ type: MemoryType.SEMANTIC, content: "x", metadata }] }),
        /^memories\[0\]\.metadata\["a=b"\]/,
      ],
      [() => client.listMemories({ scope, filter: { metadata } }), /^filter\.metadata\["a=b"\]/],
      [() => client.recall({ scope, query: "fact", filter: { metadata } }), /^filter\.metadata\["a=b"\]/],
      [
        () => client.appendMessages({ scope, sessionId: "s", messages: [{ ...user("a labelled message"), metadata }] }),
        /^messages\[0\]\.metadata\["a=b"\]/,
      ],
    ];
    for (const [call, field] of refusals) {
      const error = await expectStatus(call, Code.InvalidArgument, field);
      expect(error.rawMessage).toMatch(/must not contain '='/);
    }
    // In a value it is unambiguous (the first '=' ends the key), and both backends match it exactly.
    await client.updateMemory({ scope, memoryId: memory!.id, metadata: { a: "b=c" }, replaceMetadata: true });
    const listed = await client.listMemories({ scope, filter: { metadata: { a: "b=c" } } });
    expect(listed.memories.map((m) => m.id)).toEqual([memory!.id]);
  });
});
