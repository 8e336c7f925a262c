import { toBinary, type DescFile, type MessageInitShape } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionResponseSchema,
} from "../gen/grpc/reflection/v1/reflection_pb.js";

/**
 * gRPC server reflection (grpc.reflection.v1) from the descriptors compiled
 * into the generated code, so grpcurl, buf curl and Postman work without the
 * proto files. No maintained package serves it for connect-es, hence this.
 */
export function reflectionHandlers(
  files: readonly DescFile[],
  services: readonly string[],
): ServiceImpl<typeof ServerReflection> {
  const registry = indexFiles(files);
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield { validHost: request.host, originalRequest: request, ...answer(registry, services, request) };
      }
    },
  };
}

type Answer = Pick<MessageInitShape<typeof ServerReflectionResponseSchema>, "messageResponse">;

function answer(registry: FileIndex, services: readonly string[], request: ServerReflectionRequest): Answer {
  const req = request.messageRequest;
  switch (req.case) {
    case "listServices":
      return {
        messageResponse: { case: "listServicesResponse", value: { service: services.map((name) => ({ name })) } },
      };
    case "fileByFilename": {
      const file = registry.byName.get(req.value);
      return file ? files(file) : notFound(`file "${req.value}"`);
    }
    case "fileContainingSymbol": {
      const file = fileOfSymbol(registry, req.value);
      return file ? files(file) : notFound(`symbol "${req.value}"`);
    }
    case "fileContainingExtension":
    case "allExtensionNumbersOfType":
      // Engram's contract declares no extensions.
      return notFound("extension");
    default:
      return {
        messageResponse: {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "empty request" },
        },
      };
  }
}

interface FileIndex {
  readonly byName: ReadonlyMap<string, DescFile>;
  readonly bySymbol: ReadonlyMap<string, DescFile>;
}

/** Every file reachable from `roots`, by path and by each symbol it declares. */
function indexFiles(roots: readonly DescFile[]): FileIndex {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (byName.has(file.proto.name)) return;
    byName.set(file.proto.name, file);
    for (const type of nestedTypes(file)) bySymbol.set(type.typeName, file);
    for (const service of file.services) {
      bySymbol.set(service.typeName, file);
      for (const method of service.methods) bySymbol.set(`${service.typeName}.${method.name}`, file);
    }
    file.dependencies.forEach(visit);
  };
  roots.forEach(visit);
  return { byName, bySymbol };
}

/** The file declaring a symbol, or the message/enum a field or value belongs to. */
function fileOfSymbol(index: FileIndex, symbol: string): DescFile | undefined {
  return index.bySymbol.get(symbol) ?? index.bySymbol.get(symbol.slice(0, Math.max(0, symbol.lastIndexOf("."))));
}

/** The file first, then everything it imports, transitively. */
function files(file: DescFile): Answer {
  const seen = new Set<DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f)) return;
    seen.add(f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return {
    messageResponse: {
      case: "fileDescriptorResponse",
      value: { fileDescriptorProto: [...seen].map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
    },
  };
}

function notFound(what: string): Answer {
  return {
    messageResponse: { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } },
  };
}
