import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import { connect, type Socket } from "node:net";

/**
 * HTTP/2 frames written by hand, for what no client library sends: a
 * stream's HEADERS and its RST_STREAM in one TCP write (so the stream is
 * gone before the server's "stream" event runs), or a connection dropped
 * mid-frame. Headers are HPACK literals without indexing or Huffman coding.
 */
export const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

export const settingsFrame = () => frame(0x4, 0, 0, Buffer.alloc(0));

function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name);
  const v = Buffer.from(value, "latin1");
  if (n.length > 126 || v.length > 126) throw new Error("literal too long for this encoder");
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

/** A HEADERS frame (END_HEADERS; END_STREAM when `endStream`) for a POST to `path`. */
export function headersFrame(
  streamId: number,
  path: string,
  extra: Record<string, string> = {},
  endStream = false,
): Buffer {
  const fields = {
    ":method": "POST",
    ":scheme": "http",
    ":path": path,
    ":authority": "127.0.0.1",
    "content-type": "application/grpc",
    te: "trailers",
    ...extra,
  };
  const block = Buffer.concat(Object.entries(fields).map(([name, value]) => literal(name, value)));
  return frame(0x1, 0x4 | (endStream ? 0x1 : 0), streamId, block);
}

/** RST_STREAM, by default NO_ERROR (0): Node then closes the stream without destroying it. */
export const rstFrame = (streamId: number, code = 0) => frame(0x3, 0, streamId, Buffer.from([0, 0, 0, code]));

/** Opens a TCP connection from `localAddress` (any 127.0.0.0/8 address) and resolves once connected. */
export function rawConnection(port: number, localAddress = "127.0.0.1"): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress }, () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** A gRPC length-prefixed message (uncompressed). */
export function grpcMessage(bytes: Uint8Array): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(bytes.byteLength, 1);
  return Buffer.concat([prefix, bytes]);
}

export interface RawCall {
  readonly stream: ClientHttp2Stream;
  /** The response headers' grpc-status, "open" when the response is not trailers-only; undefined if reset first. */
  readonly answer: Promise<string | undefined>;
  /** The stream's RST_STREAM code once closed. */
  readonly closed: Promise<number>;
}

/** Starts a native gRPC call on a node:http2 session, sending `body` (and ending the request when `end`). */
export function rawGrpcCall(
  session: ClientHttp2Session,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer; end?: boolean } = {},
): RawCall {
  const stream = session.request(
    { ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...options.headers },
    { endStream: false },
  );
  stream.on("error", () => {});
  // The response body is read and dropped: a stream closes only once read to its end.
  stream.resume();
  const answer = new Promise<string | undefined>((resolve) => {
    stream.once("response", (headers) =>
      resolve(headers["grpc-status"] === undefined ? "open" : String(headers["grpc-status"])),
    );
    stream.once("close", () => resolve(undefined));
  });
  const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? 0)));
  if (options.body) stream.write(options.body);
  if (options.end ?? true) stream.end();
  return { stream, answer, closed };
}
