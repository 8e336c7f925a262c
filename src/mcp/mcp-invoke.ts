import { create, fromJson, toJson, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { Code, createContextValues, createHandlerContext, type ConnectError } from "@connectrpc/connect";
import type { Caller } from "../domain/authorization.js";
import type { Engram } from "../domain/engram.js";
import type { Scope } from "../domain/types.js";
import { MemoryService } from "../gen/engram/v1/memory_service_pb.js";
import { callerKey } from "../rpc/authentication.js";
import { memoryServiceHandlers } from "../rpc/memory-service-handlers.js";

export type MethodName = keyof typeof MemoryService.method;

/** Calls one MemoryService method with a JSON request (protobuf JSON, without the scope); returns the response as JSON. */
export type Invoke = (name: MethodName, request: Record<string, JsonValue>, signal: AbortSignal) => Promise<JsonValue>;

/**
 * How MCP reaches the domain: through the MemoryService handlers the gRPC
 * port serves, as `caller`, in `scope`. A streaming method's messages come
 * back as a JSON array.
 */
export function memoryServiceInvoker(engram: Engram, caller: Caller, scope: Scope): Invoke {
  const handlers = memoryServiceHandlers(engram);
  const scopeJson = { namespace: scope.namespace, userId: scope.userId };
  return async (name, request, signal) => {
    const method = MemoryService.method[name] as DescMethod;
    const ctx = createHandlerContext({
      service: MemoryService,
      method,
      protocolName: "mcp",
      requestMethod: "POST",
      url: `mcp:${MemoryService.typeName}/${method.name}`,
      requestSignal: signal,
      contextValues: createContextValues().set(callerKey, caller),
    });
    const input = fromJson(method.input, { ...request, scope: scopeJson });
    const impl = handlers[name] as unknown as (req: unknown, ctx: unknown) => unknown;
    if (method.methodKind === "server_streaming") {
      const events: JsonValue[] = [];
      for await (const event of impl(input, ctx) as AsyncIterable<Record<string, unknown>>) {
        events.push(toJson(method.output, create(method.output, event)));
      }
      return events;
    }
    return toJson(method.output, create(method.output, (await impl(input, ctx)) as Record<string, unknown>));
  };
}

/** A tool error's text: the gRPC status name and the message a gRPC caller gets, e.g. "NOT_FOUND: memory ...". */
export function toolErrorText(error: ConnectError): string {
  return `${grpcCodeName(error.code)}: ${error.rawMessage}`;
}

function grpcCodeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
