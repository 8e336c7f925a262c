import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MemoryService } from "../src/gen/engram/v1/memory_service_pb.js";
import { Role } from "../src/gen/engram/v1/short_term_pb.js";
import { startRedisSentinelGroup } from "../test/support/redis-servers.js";
import { startEngramProcess } from "./engram-process.js";
import { measure, printTable, type Figures } from "./measure.js";

/**
 * What waiting for a replica costs: AppendMessages and SetWorking through
 * Engram on a Sentinel-managed primary with one replica (loopback), with
 * ENGRAM_REDIS_WAIT_REPLICAS at its Sentinel default of 1 and at 0 (reply
 * once the primary has the write), in the same run against the same Redis.
 */
export async function benchRedisSentinel(options: { calls: number; concurrency: number }): Promise<void> {
  const group = await startRedisSentinelGroup();
  const rows: Figures[] = [];
  try {
    for (const wait of ["0", "1"]) {
      const engram = await startEngramProcess({
        ENGRAM_REDIS_SENTINELS: group.sentinels.join(","),
        ENGRAM_REDIS_SENTINEL_MASTER: group.masterName,
        ENGRAM_REDIS_WAIT_REPLICAS: wait,
        ENGRAM_SESSION_TOKEN_LIMIT: "1000000",
      });
      try {
        const client = createClient(MemoryService, createGrpcTransport({ baseUrl: engram.baseUrl }));
        const scope = { namespace: "bench", userId: `sentinel-${wait}` };
        rows.push(
          await measure(
            `AppendMessages, WAIT ${wait}`,
            (i) =>
              client.appendMessages({
                scope,
                sessionId: `s-${Math.abs(i) % 200}`,
                messages: [{ role: Role.USER, content: `message ${i}: the user asks about flights to Lisbon` }],
              }),
            options,
          ),
          await measure(
            `SetWorking, WAIT ${wait}`,
            (i) => client.setWorking({ scope, taskId: `t-${Math.abs(i) % 50}`, entries: { step: String(i) } }),
            options,
          ),
        );
      } finally {
        await engram.stop();
      }
    }
    printTable(
      "Redis through Sentinel (primary + 1 replica, loopback): the cost of waiting for a replica; ratio against WAIT 0",
      [rows[2]!, rows[0]!, rows[3]!, rows[1]!],
      rows[0]!,
    );
  } finally {
    await group.stop();
  }
}
