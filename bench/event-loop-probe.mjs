// Loaded into a bench's server process (node --import): every 10 ms tick, how
// late it fired and how much CPU the main thread used meanwhile. A late tick
// with as much CPU is the server's own synchronous work; a late tick with
// little is the machine's other load (the process was not running). Reported
// on stdout as a JSON log line, which bench/engram-process.ts reads.
import { isMainThread } from "node:worker_threads";

const tickMs = 10;
let last = performance.now();
let lastCpu = process.threadCpuUsage();
// --import also runs in worker threads (the embedder's): they may compute for seconds, that is what they are for.
if (isMainThread)
  setInterval(() => {
    const now = performance.now();
    const cpu = process.threadCpuUsage(lastCpu);
    const lateMs = now - last - tickMs;
    if (lateMs > 20) {
      const cpuMs = (cpu.user + cpu.system) / 1000;
      process.stdout.write(`${JSON.stringify({ msg: "event loop late", lateMs, cpuMs })}\n`);
    }
    last = now;
    lastCpu = process.threadCpuUsage();
  }, tickMs).unref();
