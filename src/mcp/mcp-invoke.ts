import { create, fromJson, toJson, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { Code, createContextValues, type ConnectError } from "@connectrpc/connect";
import type { Caller } from "../domain/authorization.js";
import type { Scope } from "../domain/types.js";
import { MemoryService } from "../gen/engram/v1/memory_service_pb.js";
import { callerKey } from "../rpc/authentication.js";
import type { CallInProcess } from "../rpc/in-process-call.js";

export type MethodName = keyof typeof MemoryService.method;

/** Calls one MemoryService method with a JSON request (protobuf JSON, without the scope); returns the response as JSON. */
export type Invoke = (name: MethodName, request: Record<string, JsonValue>, signal: AbortSignal) => Promise<JsonValue>;

/**
 * How MCP reaches the domain: through the request pipeline every front door
 * shares (`call`: the MemoryService handlers behind the same interceptors the
 * gRPC port runs), as `caller`, in `scope`, continuing the trace `header`
 * carries. A streaming method's messages come back as a JSON array.
 */
export function memoryServiceInvoker(call: CallInProcess, caller: Caller, scope: Scope, header?: Headers): Invoke {
  const scopeJson = { namespace: scope.namespace, userId: scope.userId };
  return async (name, request, signal) => {
    const method = MemoryService.method[name] as DescMethod;
    const output = await call({
      method,
      input: fromJson(method.input, { ...request, scope: scopeJson }),
      signal,
      contextValues: createContextValues().set(callerKey, caller),
      ...(header ? { header } : {}),
    });
    if (method.methodKind === "server_streaming") {
      return (output as Record<string, unknown>[]).map((event) => toJson(method.output, create(method.output, event)));
    }
    return toJson(method.output, create(method.output, output as Record<string, unknown>));
  };
}

/** A tool error's text: the gRPC status name and the message a gRPC caller gets, e.g. "NOT_FOUND: memory ...". */
export function toolErrorText(error: ConnectError): string {
  return `${grpcCodeName(error.code)}: ${error.rawMessage}`;
}

function grpcCodeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
