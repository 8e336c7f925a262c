import { PassThrough } from "node:stream";
import type { JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { mcpEnvironment } from "../../src/cli/mcp-defaults.js";
import { refuseMcp } from "../../src/cli/mcp-refusal.js";
import { toolOutputSchema, toolResult } from "../../src/mcp/mcp-results.js";

describe("MCP tool results", () => {
  it("gives a recall with no match an empty list, as structured content and the same JSON text", () => {
    const result = toolResult("recall", {});
    expect(result.structuredContent).toEqual({ memories: [] });
    expect(result.content).toEqual([{ type: "text", text: JSON.stringify({ memories: [] }, null, 2) }]);
  });

  it("fills lists and maps inside nested messages, and leaves scalars as protobuf JSON wrote them", () => {
    const recalled = toolResult("recall", {
      memories: [
        { score: 0.5, memory: { id: "m1", content: "Prefers aisle seats", createdAt: "2026-01-01T00:00:00Z" } },
      ],
    }).structuredContent as { memories: { memory: Record<string, unknown> }[] };
    expect(recalled.memories[0]!.memory).toMatchObject({ id: "m1", metadata: {}, createdAt: "2026-01-01T00:00:00Z" });
    expect(z.object(toolOutputSchema("recall")).parse(recalled)).toEqual(recalled);
  });

  it("makes AssembleContext's stream one object: sections in order, rendered, summary", () => {
    const events: JsonValue[] = [
      { section: { kind: "SECTION_KIND_LONG_TERM_MEMORIES", items: [{ id: "m1", content: "a" }] } },
      { section: { kind: "SECTION_KIND_CONVERSATION_HISTORY" } },
      { summary: { tokenBudget: 500, totalTokens: 12 } },
    ];
    const shaped = toolResult("assemble_context", events).structuredContent as Record<string, any>;
    expect(shaped.sections.map((s: { kind: string }) => s.kind)).toEqual([
      "SECTION_KIND_LONG_TERM_MEMORIES",
      "SECTION_KIND_CONVERSATION_HISTORY",
    ]);
    expect(shaped.sections[1].items).toEqual([]);
    expect(shaped.rendered).toBeUndefined();
    expect(shaped.summary.tokenBudget).toBe(500);
    expect(z.object(toolOutputSchema("assemble_context")).parse(shaped)).toEqual(shaped);
  });

  it("rejects a result that does not match the declared schema", () => {
    expect(() => z.object(toolOutputSchema("recall")).parse({ memories: "none" })).toThrow();
  });
});

describe("engram mcp start-up", () => {
  it("keeps its data in the cache directory unless ENGRAM_DATA_DIR is set", () => {
    expect(mcpEnvironment({ HOME: "/home/ana" }).ENGRAM_DATA_DIR).toBe("/home/ana/.cache/engram/mcp");
    expect(mcpEnvironment({ HOME: "/h", XDG_CACHE_HOME: "/xdg" }).ENGRAM_DATA_DIR).toBe("/xdg/engram/mcp");
    expect(mcpEnvironment({ HOME: "/h", ENGRAM_CACHE_DIR: "/c" }).ENGRAM_DATA_DIR).toBe("/c/mcp");
    expect(mcpEnvironment({ HOME: "/h", ENGRAM_DATA_DIR: "/d" }).ENGRAM_DATA_DIR).toBe("/d");
  });

  it("answers every request with the reason as a JSON-RPC error, and ignores notifications", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: string[] = [];
    output.on("data", (chunk: Buffer) => lines.push(...chunk.toString().trim().split("\n")));
    const refused = refuseMcp("Node 20.1.0 is too old", input, output);
    input.write('{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}\n');
    input.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    input.write("not json\n");
    input.end('{"jsonrpc":"2.0","id":"b","method":"tools/list"}\n');
    await refused;
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { jsonrpc: "2.0", id: 0, error: { code: -32603, message: "engram: Node 20.1.0 is too old" } },
      { jsonrpc: "2.0", id: "b", error: { code: -32603, message: "engram: Node 20.1.0 is too old" } },
    ]);
  });
});
