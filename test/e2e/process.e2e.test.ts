import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { openClient } from "../support/clients.js";
import { startWeaviate } from "../support/weaviate-server.js";

/** The `engram` command as operators run it: a separate process. */
const run = promisify(execFile);
const engram = [process.execPath, ["--import", "tsx", "src/main.ts"]] as const;
const dataDir = mkdtempSync(join(tmpdir(), "engram-process-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const env = (extra: Record<string, string> = {}) => ({ ...process.env, ENGRAM_DATA_DIR: dataDir, ...extra });

describe("engram serve", () => {
  it("refuses to start on bad configuration, naming the variable", async () => {
    const failure = await run(engram[0], [...engram[1], "serve"], { env: env({ ENGRAM_PORT: "not-a-port" }) }).catch(
      (e: unknown) => e,
    );
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(
      /ENGRAM_PORT: must be an integer from 0 to 65535, got "not-a-port"/,
    );
  });

  it("logs JSON, serves, and drains on SIGTERM, exiting 0", async () => {
    const child = spawn(engram[0], [...engram[1], "serve"], {
      env: env({ ENGRAM_PORT: "0", ENGRAM_METRICS_PORT: "0" }),
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines: Record<string, unknown>[] = [];
    const listening = new Promise<number>((resolve) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === "engram listening") resolve(entry.port as number);
      });
    });
    const port = await listening;
    const { client } = openClient("grpc", `http://127.0.0.1:${port}`);
    await client.ping({});
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["engram listening", "signal received", "engram draining", "engram stopped"]),
    );
    expect(lines.every((l) => typeof l.time === "string" && typeof l.level === "string")).toBe(true);
  });
});

describe("engram serve on Weaviate", () => {
  it("keeps stdout and stderr JSON while weaviate-client complains about an outage", async () => {
    const weaviate = await startWeaviate();
    const child = spawn(engram[0], [...engram[1], "serve"], {
      env: env({
        ENGRAM_PORT: "0",
        ENGRAM_METRICS_ENABLED: "false",
        ENGRAM_WEAVIATE_URL: weaviate.url,
        ENGRAM_WEAVIATE_GRPC_ADDRESS: weaviate.grpcAddress,
        ENGRAM_WEAVIATE_TIMEOUT_MS: "3000",
        // The health check must not notice first: the call has to reach the client and its retries.
        ENGRAM_HEALTH_CHECK_INTERVAL_MS: "600000",
      }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: string[] = [];
    const stderr: string[] = [];
    createInterface({ input: child.stderr }).on("line", (line) => stderr.push(line));
    const port = await new Promise<number>((resolve) =>
      createInterface({ input: child.stdout }).on("line", (line) => {
        stdout.push(line);
        const entry = JSON.parse(line) as { msg: string; port: number };
        if (entry.msg === "engram listening") resolve(entry.port);
      }),
    );
    try {
      const { client } = openClient("grpc", `http://127.0.0.1:${port}`);
      const scope = { namespace: "noisy", userId: "u1" };
      await client.recall({ scope, query: "anything" });
      await weaviate.kill();
      await expect(client.recall({ scope, query: "anything" }, { timeoutMs: 10_000 })).rejects.toThrow();
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      await weaviate.stop();
    }
    const entries = [...stdout, ...stderr].map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.some((e) => e.msg === "library output" && /Retrying/.test(String(e.detail)))).toBe(true);
  });
});

describe("engram evict", () => {
  it("prints a JSON summary, and forgets only in a real run", async () => {
    // Seed through a short-lived server on the same data directory.
    const child = spawn(engram[0], [...engram[1], "serve"], {
      env: env({ ENGRAM_PORT: "0", ENGRAM_METRICS_ENABLED: "false" }),
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve) =>
      createInterface({ input: child.stdout }).on("line", (line) => {
        const entry = JSON.parse(line) as { msg: string; port: number };
        if (entry.msg === "engram listening") resolve(entry.port);
      }),
    );
    const { client } = openClient("grpc", `http://127.0.0.1:${port}`);
    const scope = { namespace: "cron", userId: "u1" };
    await client.remember({ scope, type: MemoryType.EPISODIC, content: "trivial", importance: 0.01 });
    await client.remember({ scope, type: MemoryType.SEMANTIC, content: "vital", importance: 1 });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;

    const evictEnv = env({ ENGRAM_EVICTION_MIN_AGE_HOURS: "0", ENGRAM_EVICTION_SCORE_THRESHOLD: "0.5" });
    const dry = await run(engram[0], [...engram[1], "evict", "--namespace", "cron", "--dry-run"], { env: evictEnv });
    expect(JSON.parse(dry.stdout)).toMatchObject({ scanned: 2, evicted: 1, dryRun: true });
    const real = await run(engram[0], [...engram[1], "evict", "--namespace", "cron"], { env: evictEnv });
    expect(JSON.parse(real.stdout)).toMatchObject({ scanned: 2, evicted: 1, dryRun: false });
    const after = await run(engram[0], [...engram[1], "evict", "--namespace", "cron", "--dry-run"], { env: evictEnv });
    expect(JSON.parse(after.stdout)).toMatchObject({ scanned: 1, evicted: 0 });
  });

  it("exits non-zero with a JSON error on bad arguments", async () => {
    const failure = await run(engram[0], [...engram[1], "evict", "--user", "u1"], { env: env() }).catch(
      (e: unknown) => e,
    );
    expect(failure).toMatchObject({ code: 1 });
    expect(JSON.parse((failure as { stderr: string }).stderr)).toEqual({
      error: "namespace: is required when user_id is set",
    });
  });
});

describe("one embedded server per data directory", () => {
  /** `engram serve` in a separate process on `dir`: resolves with its port once it listens, or with its exit code. */
  const serve = (dir: string) => {
    const child = spawn(engram[0], [...engram[1], "serve"], {
      env: { ...process.env, ENGRAM_DATA_DIR: dir, ENGRAM_PORT: "0", ENGRAM_METRICS_ENABLED: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const started = new Promise<{ port: number } | { code: number | null; stderr: string }>((resolve) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        const entry = JSON.parse(line) as { msg: string; port: number };
        if (entry.msg === "engram listening") resolve({ port: entry.port });
      });
      void exited.then((code) => resolve({ code, stderr }));
    });
    return { child, exited, started };
  };
  const port = async (server: ReturnType<typeof serve>) => {
    const started = await server.started;
    if (!("port" in started)) throw new Error(`engram serve exited ${started.code}: ${started.stderr}`);
    return started.port;
  };
  const stop = async (server: ReturnType<typeof serve>, signal: NodeJS.Signals) => {
    server.child.kill(signal);
    return server.exited;
  };

  it("refuses a second server on a held directory, and never after a crash; another directory runs beside it", async () => {
    const held = mkdtempSync(join(tmpdir(), "engram-held-"));
    const other = mkdtempSync(join(tmpdir(), "engram-other-"));
    const running: ReturnType<typeof serve>[] = [];
    try {
      // Two servers at once on two directories both run.
      const first = serve(held);
      const beside = serve(other);
      running.push(first, beside);
      const scope = { namespace: "lock", userId: "u1" };
      const { client } = openClient("grpc", `http://127.0.0.1:${await port(first)}`);
      const { memory } = await client.remember({ scope, type: MemoryType.SEMANTIC, content: "Lives in Lisbon" });
      await openClient("grpc", `http://127.0.0.1:${await port(beside)}`).client.ping({});

      // A second server on the first one's directory is refused; the eviction CronJob still runs beside it.
      const second = serve(held);
      running.push(second);
      const evicting = run(engram[0], [...engram[1], "evict", "--dry-run"], { env: env({ ENGRAM_DATA_DIR: held }) });
      const reembedding = run(engram[0], [...engram[1], "reembed"], { env: env({ ENGRAM_DATA_DIR: held }) }).catch(
        (e: unknown) => e,
      );
      expect(await second.started).toEqual({
        code: 2,
        stderr:
          `engram: invalid configuration: ENGRAM_DATA_DIR: ${join(held, "engram.db")} is in use by another Engram ` +
          "process (a running engram serve, engram mcp or engram reembed): stop it, or give this one its own " +
          "ENGRAM_DATA_DIR; to share its memory, call that server (gRPC, or MCP over HTTP) instead of opening its file\n",
      });
      expect(JSON.parse((await evicting).stdout)).toMatchObject({ scanned: 1, dryRun: true });
      // Re-embedding beside a writer would mix two embedders' vectors: reembed claims the database too.
      expect(await reembedding).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/ENGRAM_DATA_DIR: .* is in use/),
      });
      expect(await stop(beside, "SIGTERM")).toBe(0);

      // kill -9: no shutdown hook runs, the kernel drops the lock with the process.
      expect(await stop(first, "SIGKILL")).toBe(null);
      const restarted = serve(held);
      running.push(restarted);
      const again = openClient("grpc", `http://127.0.0.1:${await port(restarted)}`).client;
      expect((await again.getMemory({ scope, memoryId: memory!.id })).memory?.content).toBe("Lives in Lisbon");
      expect(await stop(restarted, "SIGTERM")).toBe(0);
    } finally {
      for (const server of running) if (server.child.exitCode === null) server.child.kill("SIGKILL");
      rmSync(held, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  });
});
