import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import type { JsonValue } from "@bufbuild/protobuf";
import { toConnectError } from "../rpc/error-mapping.js";
import { toolErrorText, type Invoke } from "./mcp-invoke.js";

/** Resources listed (and read in one go by engram://memories): the user's current memories, newest pages last. */
const listedMemories = 100;

/**
 * The bound user's memories as MCP resources: `engram://memories` (the
 * current memories, oldest first, up to 100) and `engram://memories/{id}`
 * (one memory), listed so a client can offer them to its user.
 */
export function registerResources(server: McpServer, invoke: Invoke): void {
  const read = async (uri: URL, signal: AbortSignal, work: () => Promise<JsonValue>): Promise<ReadResourceResult> => {
    try {
      const result = await work();
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(result, null, 2) }] };
    } catch (error) {
      throw new Error(toolErrorText(toConnectError(error, signal)));
    }
  };
  const currentMemories = (signal: AbortSignal) =>
    invoke("listMemories", { filter: { superseded: false }, pageSize: listedMemories }, signal);

  server.registerResource(
    "memories",
    "engram://memories",
    {
      title: "What Engram remembers about the user",
      description: `The user's current long-term memories (not superseded), oldest first, at most ${listedMemories}, as protobuf JSON.`,
      mimeType: "application/json",
    },
    (uri, extra) => read(uri, extra.signal, () => currentMemories(extra.signal)),
  );

  server.registerResource(
    "memory",
    new ResourceTemplate("engram://memories/{memory_id}", {
      list: async (extra) => {
        const page = (await currentMemories(extra.signal)) as {
          memories?: { id: string; type: string; content: string }[];
        };
        return {
          resources: (page.memories ?? []).map((m) => ({
            uri: `engram://memories/${m.id}`,
            name: `${m.type.replace("MEMORY_TYPE_", "").toLowerCase()}: ${m.content.slice(0, 80)}`,
            mimeType: "application/json",
          })),
        };
      },
    }),
    {
      title: "A long-term memory",
      description: "One of this user's long-term memories, by id, as protobuf JSON.",
      mimeType: "application/json",
    },
    (uri, variables, extra) => {
      const id = Array.isArray(variables.memory_id) ? variables.memory_id[0] : variables.memory_id;
      return read(uri, extra.signal, () => invoke("getMemory", { memoryId: id ?? "" }, extra.signal));
    },
  );
}
