/**
 * The server's memory after a full garbage collection, read through its
 * inspector (the process started with --expose-gc and --inspect): what the
 * process still references, as against RSS, which keeps what the allocator
 * and V8 took at the peak of a flood and have not handed back. A bench-only
 * probe: the server itself has no such endpoint.
 */
export interface HeapAfterGc {
  /** V8 heap in use, MiB. */
  readonly heapUsedMiB: number;
  /** Memory outside the V8 heap still referenced from JavaScript (buffers), MiB. */
  readonly externalMiB: number;
  /** Resident memory at the same moment, MiB. */
  readonly rssMiB: number;
}

export async function heapAfterGc(inspectorPort: number): Promise<HeapAfterGc> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  try {
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve, { once: true });
      socket.addEventListener("error", reject, { once: true });
    });
    const reply = new Promise<string>((resolve, reject) => {
      socket.addEventListener("message", (event) => {
        const message = JSON.parse(String(event.data)) as { id?: number; result?: { result?: { value?: string } } };
        if (message.id !== 1) return;
        const value = message.result?.result?.value;
        if (value === undefined) reject(new Error(`inspector answered ${String(event.data)}`));
        else resolve(value);
      });
    });
    // Twice: the first pass may leave what finalizers released for the second.
    const expression = "gc(); gc(); JSON.stringify(process.memoryUsage())";
    socket.send(JSON.stringify({ id: 1, method: "Runtime.evaluate", params: { expression, returnByValue: true } }));
    const usage = JSON.parse(await reply) as NodeJS.MemoryUsage;
    const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
    return { heapUsedMiB: mib(usage.heapUsed), externalMiB: mib(usage.external), rssMiB: mib(usage.rss) };
  } finally {
    socket.close();
  }
}
