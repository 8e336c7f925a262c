import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as connectHttp2, type ClientHttp2Session } from "node:http2";
import { connect as connectTcp } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryType } from "../src/gen/engram/v1/long_term_pb.js";
import { ExportUserRequestSchema, MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { hashToken } from "../src/rpc/authentication.js";
import { randomWords } from "../test/support/adversarial-texts.js";
import { grpcMessage, rawConnection, rawGrpcCall } from "../test/support/raw-http2.js";
import { silentConnections } from "../test/support/network-probes.js";
import { startEngramProcess, type EngramProcess } from "./engram-process.js";

/**
 * Network floods against a separate Engram process on its DEFAULT limits
 * (issue 21, findings 2, 3, 5, 6, and the per-address connection cap and
 * HTTP/1.1 slow readers): the server's RSS before, at the peak
 * and after, and whether a Ping on a new connection is answered after each
 * flood. The baseline is the RSS before each flood, in the same run.
 */
export async function benchNetworkFloods(): Promise<void> {
  console.log("\nNetwork floods (default limits; server RSS in MiB from /proc)");
  console.log(
    "| flood | RSS before | RSS peak | RSS after | heap used + external after a full GC, before → after | Ping after | notes |",
  );
  console.log("|---|---:|---:|---:|---:|---|---|");
  const tokens = join(mkdtempSync(join(tmpdir(), "engram-floods-")), "tokens.json");
  const callers = [
    { name: "app", tokenSha256: hashToken(token), namespaces: ["*"], permissions: ["read", "write", "admin"] },
  ];
  writeFileSync(tokens, JSON.stringify({ callers }));
  const engram = await startEngramProcess({ ENGRAM_AUTH_TOKENS_FILE: tokens }, "dist/main.js", { heapProbe: true });
  try {
    const port = Number(new URL(engram.baseUrl).port);
    const client = authenticatedClient(engram);
    const scope = { namespace: "flood", userId: "reader" };
    for (let i = 0; i < 20; i++) {
      await client.remember({ scope, type: MemoryType.SEMANTIC, content: `fact ${i}: ${"x".repeat(4000)}` });
    }
    await row(engram, "12,000 silent TCP connections", 12_000 / 1000 + 15, async () => {
      const { closed, sockets } = await silentConnections(port, 12_000, loopback(20), 500);
      return () => {
        const note = `${closed()} of 12,000 closed by the server after 27 s`;
        for (const socket of sockets) socket.destroy();
        return note;
      };
    });
    await row(engram, "2 x 100 unauthenticated streams of 3.9 MB (Recall, no END_STREAM)", 5, async () => {
      // A message declared as 3.9 MB, of which 3.8 MB is sent: before, grpc-js held it all, waiting for the rest.
      const big = Buffer.concat([Buffer.from([0, 0, 0x3e, 0x66, 0x66]), Buffer.alloc(3.8 * 2 ** 20, 0x61)]);
      const sessions = [session(port), session(port)];
      const calls = sessions.flatMap((s) =>
        Array.from({ length: 100 }, () => rawGrpcCall(s, "/engram.v1.MemoryService/Recall", { body: big, end: false })),
      );
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const answered = (
        await Promise.all(calls.map((c) => Promise.race([c.answer, Promise.resolve("pending")])))
      ).filter((a) => a !== "pending").length;
      for (const s of sessions) s.destroy();
      return () => `${answered} of 200 answered within 5 s`;
    });
    await row(engram, "2,000 Health/Watch streams from 40 loopback addresses", 3, async () => {
      const sessions = loopback(40).flatMap((address) => [session(port, address), session(port, address)]);
      const calls = sessions.flatMap((s) =>
        Array.from({ length: 25 }, () =>
          rawGrpcCall(s, "/grpc.health.v1.Health/Watch", { body: grpcMessage(new Uint8Array()) }),
        ),
      );
      const answers = await Promise.all(calls.map((c) => c.answer));
      const open = answers.filter((a) => a === "open").length;
      for (const s of sessions) s.destroy();
      return () => `${open} of 2,000 admitted`;
    });
    await row(engram, "500 abandoned ExportUser calls (zero flow-control window)", 60, async () => {
      // 100 streams per connection (the server's SETTINGS): five connections.
      const sessions = Array.from({ length: 5 }, () => session(port, "127.0.0.1", { initialWindowSize: 0 }));
      const body = grpcMessage(toBinary(ExportUserRequestSchema, create(ExportUserRequestSchema, { scope })));
      const calls = sessions.flatMap((s) =>
        Array.from({ length: 100 }, () =>
          rawGrpcCall(s, "/engram.v1.MemoryService/ExportUser", {
            body,
            headers: { authorization: `Bearer ${token}` },
          }),
        ),
      );
      let reset = 0;
      for (const c of calls) void c.closed.then(() => reset++);
      return () => {
        for (const s of sessions) s.destroy();
        return `${reset} of 500 reset by the server within 60 s`;
      };
    });
  } finally {
    await engram.stop();
  }
  // The per-address cap and HTTP/1.1 slow readers, on this build and, as the baseline, on another
  // build's entry point when BENCH_NETWORK_BEFORE_MAIN names one (e.g. main's dist/main.js).
  const before = process.env.BENCH_NETWORK_BEFORE_MAIN;
  if (before) await benchAddressAndSlowReaders(tokens, before, "before");
  await benchAddressAndSlowReaders(tokens, "dist/main.js", "this build");
}

async function benchAddressAndSlowReaders(tokens: string, main: string, build: string): Promise<void> {
  const engram = await startEngramProcess({ ENGRAM_AUTH_TOKENS_FILE: tokens }, main, { heapProbe: true });
  try {
    const port = Number(new URL(engram.baseUrl).port);
    const client = authenticatedClient(engram);
    await row(engram, `5,000 silent TCP connections from one address (Ping from another), ${build}`, 2, async () => {
      const { closed, sockets } = await silentConnections(port, 5_000, ["127.0.0.50"], 500);
      // Counted before the 10 s headers timeout closes the held ones.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const heldAtOneSecond = 5_000 - closed();
      return () => {
        for (const socket of sockets) socket.destroy();
        return `${heldAtOneSecond} held after 1 s (per-address cap 1024; the global cap alone let one address hold 4,096); ${5_000 - closed()} still open at the ping`;
      };
    });
    // 16 MiB of working state for one user, exported over HTTP/1.1 by clients that never read.
    const big = { namespace: "flood", userId: "big" };
    for (let call = 0; call < 4; call++) {
      const entries = Array.from({ length: 64 }, (_, i) => [`e${call}-${i}`, randomWords(i, 64 * 1024 - 16)]);
      await client.setWorking({ scope: big, taskId: "draft", entries: Object.fromEntries(entries) });
    }
    const json = Buffer.from(JSON.stringify({ scope: big }));
    const envelope = Buffer.alloc(5);
    envelope.writeUInt32BE(json.length, 1);
    const body = Buffer.concat([envelope, json]);
    const request = Buffer.concat([
      Buffer.from(
        `POST /engram.v1.MemoryService/ExportUser HTTP/1.1\r\nHost: engram\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/connect+json\r\nContent-Length: ${body.length}\r\n\r\n`,
      ),
      body,
    ]);
    // The baseline: the same 20 exports read to the end (what building the responses costs anyway).
    await row(engram, `20 HTTP/1.1 Connect ExportUser calls of 16 MiB, read to the end, ${build}`, 10, async () => {
      let done = 0;
      const sockets = await Promise.all(
        Array.from({ length: 20 }, () =>
          rawConnection(port).then((socket) => {
            let received = 0;
            socket.on("data", (chunk: Buffer) => {
              received += chunk.length;
              if (received > 16_000_000 && received - chunk.length <= 16_000_000) done++;
            });
            socket.write(request);
            return socket;
          }),
        ),
      );
      return () => {
        for (const socket of sockets) socket.destroy();
        return `${done} of 20 read to the end within 10 s`;
      };
    });
    await row(engram, `20 HTTP/1.1 Connect ExportUser calls of 16 MiB, never read, ${build}`, 40, async () => {
      let cut = 0;
      const sockets = await Promise.all(
        Array.from({ length: 20 }, () =>
          rawConnection(port).then((socket) => {
            socket.once("close", () => cut++);
            socket.write(request);
            return socket;
          }),
        ),
      );
      // A paused socket never sees the server close it: read at 37 s, so that a socket the server
      // closed drains and closes by 40 s, and one it kept goes on receiving and stays open.
      setTimeout(() => sockets.forEach((s) => s.resume()), 37_000).unref();
      return () => {
        for (const socket of sockets) socket.destroy();
        return `${cut} of 20 closed by the server within 40 s (slow-reader timeout 30 s; before, only the 300 s idle timeout ended them)`;
      };
    });
  } finally {
    await engram.stop();
  }
}

const token = "bench-network-floods";

function authenticatedClient(engram: EngramProcess) {
  return createClient(
    MemoryService,
    createGrpcTransport({
      baseUrl: engram.baseUrl,
      interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))],
    }),
  );
}

function loopback(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.${Math.floor((i + 2) / 250)}.${((i + 2) % 250) + 1}`);
}

function session(
  port: number,
  localAddress = "127.0.0.1",
  settings: { initialWindowSize?: number } = {},
): ClientHttp2Session {
  const s = connectHttp2(`http://127.0.0.1:${port}`, {
    createConnection: () => connectTcp({ host: "127.0.0.1", port, localAddress }),
    settings,
    maxSessionMemory: 4096,
  });
  s.on("error", () => {});
  return s;
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
}

/**
 * Runs a flood, samples the server's RSS while it lasts, then waits `settleSeconds` and pings on a new
 * connection. Beside RSS, what the server still references after a full GC, before and after (the flood's
 * clients closed): RSS keeps the allocator's and V8's high-water mark, the heap shows a leak.
 */
async function row(engram: EngramProcess, name: string, settleSeconds: number, flood: () => Promise<() => string>) {
  const referenced = async () => {
    const heap = await engram.heapAfterGc();
    return heap.heapUsedMiB + heap.externalMiB;
  };
  const heapBefore = await referenced();
  const before = rssMiB(engram.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(engram.pid))), 200);
  let notes: () => string = () => "";
  try {
    notes = await flood();
    await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
  } finally {
    clearInterval(sampler);
  }
  const after = rssMiB(engram.pid);
  const ping = await authenticatedClient(engram)
    .ping({}, { timeoutMs: 10_000 })
    .then(
      () => "answered",
      (error: unknown) => `failed (${String(error).slice(0, 60)})`,
    );
  const note = notes();
  const heapAfter = await referenced();
  console.log(`| ${name} | ${before} | ${peak} | ${after} | ${heapBefore} → ${heapAfter} | ${ping} | ${note} |`);
}
