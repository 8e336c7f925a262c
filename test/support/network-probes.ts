import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Socket } from "node:net";
import { rawConnection } from "./raw-http2.js";
import type { TestServer } from "./server-harness.js";

/** engram_network_refusals_total for one listener and reason, read from /metrics. */
export async function refusals(server: TestServer, listener: string, reason: string): Promise<number> {
  return metric(server, "engram_network_refusals_total", { listener, reason });
}

/** A counter's value from /metrics (0 when the series does not exist yet). */
export async function metric(server: TestServer, name: string, labels: Record<string, string>): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = body.split("\n").find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return Number(line?.split(" ").at(-1) ?? 0);
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** This process's RSS (the server runs in it) after garbage collection has settled, in MiB. */
export async function settledRssMiB(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}

/**
 * Opens `count` TCP connections that never send a byte, `batch` at a time,
 * from the given loopback addresses in turn. Resolves with the sockets and a
 * promise that resolves once the server has closed every one.
 */
export async function silentConnections(
  port: number,
  count: number,
  addresses: readonly string[] = ["127.0.0.1"],
  batch = 100,
): Promise<{ sockets: Socket[]; allClosed: Promise<void>; closed: () => number }> {
  const sockets: Socket[] = [];
  let closed = 0;
  const closings: Promise<void>[] = [];
  // Each socket's "close" is listened for as soon as it connects, not once its whole batch has: a
  // connection the server drops on accept closes at once, often before a slower one of the same batch
  // connects, and a listener added after its "close" never runs.
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, (_, j) =>
        rawConnection(port, addresses[(i + j) % addresses.length]).then(
          (socket) => {
            // Flowing, so that the server's FIN is read: a socket nobody reads from can sit in CLOSE-WAIT
            // with no "close" (seen: 1 to 10 of 400 on a loaded machine, the server's side long gone).
            socket.resume();
            sockets.push(socket);
            closings.push(new Promise((resolve) => socket.once("close", () => resolve(void closed++))));
          },
          () => void closed++,
        ),
      ),
    );
  }
  return { sockets, allClosed: Promise.all(closings).then(() => {}), closed: () => closed };
}
