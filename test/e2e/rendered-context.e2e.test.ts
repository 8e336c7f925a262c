import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContextFormat } from "../../src/gen/engram/v1/assembly_pb.js";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { Role } from "../../src/gen/engram/v1/short_term_pb.js";
import { preambleLine } from "../../src/domain/context-rendering.js";
import { openClient, type ClientHandle } from "../support/clients.js";
import { collect, expectStatus } from "../support/expect-status.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";
import type { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";

/**
 * AssembleContext with CONTEXT_FORMAT_MESSAGES: what a gateway forwards to a
 * chat model, through the public API with the default configuration.
 */
let server: TestServer;
let handle: ClientHandle<typeof MemoryService>;
beforeAll(async () => {
  server = await startTestServer();
  handle = openClient("grpc", server.baseUrl);
});
afterAll(async () => {
  handle?.close();
  await server?.destroy();
});

const scope = { namespace: "gateway", userId: "ana" };

describe("AssembleContext rendered as messages", () => {
  it("streams a system preamble with memories and task state, then the turns, then the summary", async () => {
    const client = handle.client;
    const remembered = await client.remember({
      scope,
      type: MemoryType.PREFERENCE,
      content: "I prefer aisle seats on long flights",
    });
    expect(remembered.memory).toBeDefined();
    await client.setWorking({ scope, taskId: "trip", entries: { destination: "Lisbon" } });
    await client.appendMessages({
      scope,
      sessionId: "s1",
      messages: [
        { role: Role.USER, content: "Find me a flight to Lisbon" },
        { role: Role.TOOL, content: '{"flights": 2}' },
        { role: Role.ASSISTANT, content: "I found two flights; which seat do you like?" },
      ],
    });

    const events = await collect(
      client.assembleContext({
        scope,
        sessionId: "s1",
        taskId: "trip",
        query: "which seat to book on the flight",
        tokenBudget: 1000,
        format: ContextFormat.MESSAGES,
      }),
    );
    expect(events.map((e) => e.event.case)).toEqual(["rendered", "summary"]);
    const rendered = events[0]!.event.case === "rendered" ? events[0]!.event.value : undefined;
    const summary = events[1]!.event.case === "summary" ? events[1]!.event.value : undefined;
    expect(rendered?.messages.map((m) => m.role)).toEqual([Role.SYSTEM, Role.USER, Role.ASSISTANT, Role.ASSISTANT]);
    expect(rendered?.messages[0]?.content).toBe(
      [
        preambleLine,
        "## What you remember about the user\n- [preference] I prefer aisle seats on long flights",
        "## Current task state\n- destination: Lisbon",
      ].join("\n\n"),
    );
    expect(rendered?.messages.slice(1).map((m) => m.content)).toEqual([
      "Find me a flight to Lisbon",
      '[tool output] {"flights": 2}',
      "I found two flights; which seat do you like?",
    ]);
    // The template's own text is counted on top of the packed items.
    expect(rendered!.tokenCount).toBeGreaterThan(summary!.totalTokens);
  });

  it("keeps sections of items as the default", async () => {
    const events = await collect(
      handle.client.assembleContext({ scope, sessionId: "s1", query: "seat", tokenBudget: 1000 }),
    );
    expect(events.map((e) => e.event.case)).toEqual(["section", "section", "summary"]);
  });

  it("rejects an unknown format, naming the field", async () => {
    await expectStatus(
      collect(handle.client.assembleContext({ scope, tokenBudget: 100, format: 9 as ContextFormat })),
      Code.InvalidArgument,
      /format: has unknown value 9/,
    );
  });
});
