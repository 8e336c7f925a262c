import { ScalarType, type DescField, type DescMessage, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import { AssembleContextResponseSchema, MemoryService } from "../gen/engram/v1/memory_service_pb.js";

/**
 * How MCP tool results are shaped: MCP's structured tool output. Each tool
 * declares an output schema derived from its MemoryService response message
 * (so it follows the contract), and returns the response as
 * `structuredContent`, with the same JSON as text for clients that read only
 * text.
 *
 * Protobuf JSON leaves out empty lists and maps, so a recall that matched
 * nothing would be `{}`; here every list and map is present, empty when
 * empty (`{"memories": []}`), so an agent never has to tell "nothing" from
 * "no such field". AssembleContext's stream becomes one object: its sections
 * in order, the rendered messages (format "messages"), and the summary.
 */

/** The tools that answer with a MemoryService response, by tool name. */
const toolMethods = {
  remember: MemoryService.method.remember,
  recall: MemoryService.method.recall,
  list_memories: MemoryService.method.listMemories,
  forget_memory: MemoryService.method.forgetMemory,
  get_working: MemoryService.method.getWorking,
  set_working: MemoryService.method.setWorking,
  complete_task: MemoryService.method.completeTask,
  append_messages: MemoryService.method.appendMessages,
} as const;

export type ShapedTool = keyof typeof toolMethods | "assemble_context";

/** The output schema (a zod shape, as the MCP SDK's registerTool takes it) of a tool's structured result. */
export function toolOutputSchema(tool: ShapedTool): Record<string, z.ZodType> {
  if (tool === "assemble_context") {
    const event = AssembleContextResponseSchema;
    return {
      sections: z.array(messageSchema(oneofMessage(event, "section"))).describe("The context's sections, in order."),
      rendered: messageSchema(oneofMessage(event, "rendered"))
        .optional()
        .describe("With format 'messages': the chat messages to send."),
      summary: messageSchema(oneofMessage(event, "summary")).describe("Tokens used and what was left out."),
    };
  }
  return messageSchema(toolMethods[tool].output).shape;
}

/** A successful tool call's result: the response as structured content, and as JSON text. */
export function toolResult(tool: ShapedTool, response: JsonValue): CallToolResult {
  const structured = tool === "assemble_context" ? assembled(response) : complete(toolMethods[tool].output, response);
  return { structuredContent: structured, content: [{ type: "text", text: JSON.stringify(structured, null, 2) }] };
}

/** AssembleContext's events (each with one of section, rendered, summary) as one object. */
function assembled(events: JsonValue): JsonObject {
  const event = AssembleContextResponseSchema;
  const sections: JsonValue[] = [];
  const result: JsonObject = { sections };
  for (const e of Array.isArray(events) ? events : []) {
    const { section, rendered, summary } = e as JsonObject;
    if (section !== undefined) sections.push(complete(oneofMessage(event, "section"), section));
    if (rendered !== undefined) result.rendered = complete(oneofMessage(event, "rendered"), rendered);
    if (summary !== undefined) result.summary = complete(oneofMessage(event, "summary"), summary);
  }
  return result;
}

function oneofMessage(desc: DescMessage, localName: string): DescMessage {
  const field = desc.fields.find((f) => f.localName === localName);
  if (field?.fieldKind !== "message") throw new Error(`${desc.typeName} has no message field ${localName}`);
  return field.message;
}

const timestamp = "google.protobuf.Timestamp";

/** `json` (protobuf JSON of `desc`) with every list and map present. */
function complete(desc: DescMessage, json: JsonValue): JsonObject {
  const object: JsonObject = { ...(json as JsonObject) };
  for (const field of desc.fields) {
    const value = object[field.jsonName];
    if (field.fieldKind === "list") {
      const items = (value as JsonValue[] | undefined) ?? [];
      object[field.jsonName] =
        field.listKind === "message" && field.message.typeName !== timestamp
          ? items.map((item) => complete(field.message, item))
          : items;
    } else if (field.fieldKind === "map") {
      object[field.jsonName] = value ?? {};
    } else if (field.fieldKind === "message" && value !== undefined && field.message.typeName !== timestamp) {
      object[field.jsonName] = complete(field.message, value);
    }
  }
  return object;
}

/** The schema of `desc` in protobuf JSON: lists and maps always present; scalars, enums and messages when set. */
function messageSchema(desc: DescMessage, depth = 0): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const field of desc.fields) {
    const schema = fieldSchema(field, depth);
    shape[field.jsonName] = field.fieldKind === "list" || field.fieldKind === "map" ? schema : schema.optional();
  }
  return z.object(shape);
}

function fieldSchema(field: DescField, depth: number): z.ZodType {
  switch (field.fieldKind) {
    case "scalar":
      return scalarSchema(field.scalar);
    case "enum":
      return enumSchema(field.enum.values.map((v) => v.name));
    case "message":
      return nestedSchema(field.message, depth);
    case "list":
      return z.array(
        field.listKind === "scalar"
          ? scalarSchema(field.scalar)
          : field.listKind === "enum"
            ? enumSchema(field.enum.values.map((v) => v.name))
            : nestedSchema(field.message, depth),
      );
    case "map":
      return z.record(
        z.string(),
        field.mapKind === "scalar"
          ? scalarSchema(field.scalar)
          : field.mapKind === "enum"
            ? enumSchema(field.enum.values.map((v) => v.name))
            : nestedSchema(field.message, depth),
      );
  }
}

function nestedSchema(desc: DescMessage, depth: number): z.ZodType {
  if (desc.typeName === timestamp) return z.string().describe("RFC 3339 time");
  // The contract has no recursive message today; the bound keeps a future one finite.
  return depth >= 6 ? z.object({}).loose() : messageSchema(desc, depth + 1);
}

function enumSchema(names: string[]): z.ZodType {
  return z.enum(names as [string, ...string[]]);
}

function scalarSchema(scalar: ScalarType): z.ZodType {
  switch (scalar) {
    case ScalarType.BOOL:
      return z.boolean();
    case ScalarType.STRING:
      return z.string();
    case ScalarType.BYTES:
      return z.string().describe("base64");
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      // Protobuf JSON writes 64-bit integers as strings (a JSON number would lose precision).
      return z.string().describe("a 64-bit integer");
    default:
      return z.number();
  }
}
