import { create, fromBinary, toBinary, type DescMessage, type DescService, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";

/**
 * The ways a caller reaches Engram, each yielding the same typed client
 * shape, so one test body runs over every protocol and both server paths:
 * connect-node's Connect (HTTP/2 and HTTP/1.1) and gRPC-Web transports
 * (served by connect-node), its gRPC transport and a stock @grpc/grpc-js
 * client built from the generated descriptors (both served natively by
 * grpc-js). Errors surface as ConnectError either way.
 */
export type ClientKind = "connect" | "connect-http1" | "grpc" | "grpc-web" | "grpc-js";
export const clientKinds: readonly ClientKind[] = ["connect", "connect-http1", "grpc", "grpc-web", "grpc-js"];

export interface ClientHandle<S extends DescService> {
  readonly client: Client<S>;
  close(): void;
}

export function connectTransport(kind: Exclude<ClientKind, "grpc-js">, baseUrl: string): Transport {
  switch (kind) {
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "2" });
    case "connect-http1":
      return createConnectTransport({ baseUrl, httpVersion: "1.1" });
    case "grpc":
      return createGrpcTransport({ baseUrl });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "2" });
  }
}

export function openClient<S extends DescService = typeof MemoryService>(
  kind: ClientKind,
  baseUrl: string,
  service: S = MemoryService as unknown as S,
): ClientHandle<S> {
  if (kind !== "grpc-js") return { client: createClient(service, connectTransport(kind, baseUrl)), close: () => {} };
  return grpcJsClient(service, baseUrl.replace(/^http:\/\//, ""));
}

interface CallOptions {
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/** A stock grpc-js client, serialising with the generated message descriptors. */
function grpcJsClient<S extends DescService>(service: S, address: string): ClientHandle<S> {
  const definition: Record<string, grpc.MethodDefinition<Message, Message>> = {};
  for (const method of service.methods) {
    const codec = (schema: DescMessage) => ({
      serialize: (message: Message) => Buffer.from(toBinary(schema, message as never)),
      deserialize: (bytes: Buffer) => fromBinary(schema, bytes),
    });
    const input = codec(method.input);
    const output = codec(method.output);
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: input.serialize,
      requestDeserialize: input.deserialize,
      responseSerialize: output.serialize,
      responseDeserialize: output.deserialize,
      originalName: method.name,
    };
  }
  const Constructor = grpc.makeGenericClientConstructor(definition, service.typeName);
  const raw = new Constructor(address, grpc.credentials.createInsecure()) as unknown as Record<string, Function>;
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    const call = raw[method.localName]!.bind(raw);
    const callOptions = (options?: CallOptions): grpc.CallOptions =>
      options?.timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + options.timeoutMs) };
    const metadata = (options?: CallOptions) => {
      const m = new grpc.Metadata();
      for (const [key, value] of Object.entries(options?.headers ?? {})) m.set(key, value);
      return m;
    };
    if (method.methodKind === "unary") {
      client[method.localName] = (request: object, options?: CallOptions) =>
        new Promise((resolve, reject) => {
          call(
            create(method.input, request as never),
            metadata(options),
            callOptions(options),
            (error: grpc.ServiceError | null, response: unknown) =>
              error ? reject(toConnectError(error)) : resolve(response),
          );
        });
    } else if (method.methodKind === "server_streaming") {
      client[method.localName] = (request: object, options?: CallOptions) =>
        (async function* () {
          const stream = call(
            create(method.input, request as never),
            metadata(options),
            callOptions(options),
          ) as AsyncIterable<unknown>;
          try {
            for await (const message of stream) yield message;
          } catch (error) {
            throw toConnectError(error as grpc.ServiceError);
          }
        })();
    }
  }
  return { client: client as Client<S>, close: () => (raw as unknown as grpc.Client).close() };
}

function toConnectError(error: grpc.ServiceError): ConnectError {
  // The gRPC spec percent-encodes grpc-message; connect-node escapes every
  // reserved character, and grpc-js decodes with decodeURI, which leaves
  // "%3A" and friends. Decode the rest as the spec intends (Go and Python
  // clients do this themselves).
  let details = error.details;
  try {
    details = decodeURIComponent(details);
  } catch {
    // Not percent-encoded after all: keep it as sent.
  }
  return new ConnectError(details, error.code as number as Code);
}
