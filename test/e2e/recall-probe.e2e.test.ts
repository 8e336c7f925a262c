import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalEmbedder } from "../../src/models/local-embedder.js";
import { OnnxEmbedder } from "../../src/models/onnx-embedder.js";
import { onnxModelDir } from "../support/onnx-model.js";
import { startFakeModelServer, type FakeModelServer } from "../support/openai-compatible-server.js";
import { startPushgateway, type PushgatewayServer } from "../support/prometheus-servers.js";
import { startTestServer, type TestServer } from "../support/server-harness.js";

/**
 * The recall probe: a labelled probe set written into a reserved namespace
 * and asked on a schedule, its recall@k on /metrics; and `engram probe`, the
 * CronJob, pushing the same figures to a (real) Pushgateway.
 */
const run = promisify(execFile);
const engramCli = [process.execPath, ["--import", "tsx", "src/main.ts"]] as const;

/** A sample's value from the text exposition format, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const recallAtK = async (server: TestServer) =>
  sample(
    await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text(),
    'engram_probe_recall_at_k{probe_set="default",k="5"}',
  );
const vectorRecallAtK = async (server: TestServer) =>
  sample(
    await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text(),
    'engram_probe_signal_recall_at_k{probe_set="default",k="5",signal="vector"}',
  );
const lastSuccess = async (server: TestServer) =>
  sample(
    await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text(),
    'engram_probe_last_success_timestamp_seconds{probe_set="default"}',
  ) ?? 0;

describe("the in-process recall probe", () => {
  it("is off by default", async () => {
    const server = await startTestServer();
    try {
      const text = await (await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`)).text();
      expect(text).not.toMatch(/^engram_probe_recall_at_k\{/m);
    } finally {
      await server.destroy();
    }
  });

  it("exports recall@k of the shipped probe set with the default embedder, and it falls when the embedder is swapped", async () => {
    // The default embedder (MiniLM) behind an OpenAI-compatible endpoint, so it can be switched under the
    // same model name and dimension, as a re-pointed endpoint or a provider's model update would.
    const minilm = await OnnxEmbedder.open({ modelDir: onnxModelDir, batchSize: 32, threads: 1, loneThreads: 1 });
    const models: FakeModelServer = await startFakeModelServer(minilm.dimensions);
    models.embedWith = (texts) => minilm.embed(texts);
    const server = await startTestServer({
      ENGRAM_MODEL_PROVIDER: "openai",
      ENGRAM_OPENAI_BASE_URL: models.baseUrl,
      ENGRAM_PROBE_INTERVAL_SECONDS: "1",
    });
    try {
      await expect.poll(() => recallAtK(server), { timeout: 60_000, interval: 250 }).toBeDefined();
      expect(await recallAtK(server)).toBeGreaterThanOrEqual(0.8);
      const healthy = (await vectorRecallAtK(server))!;
      expect(healthy).toBeGreaterThanOrEqual(0.8);

      // Same name, same dimension, another model: the stored probe vectors no longer match the queries'.
      const hashed = new LocalEmbedder(minilm.dimensions);
      models.embedWith = (texts) => hashed.embed(texts);
      const swappedAt = Date.now() / 1000;
      // A run that started after the swap.
      await expect.poll(() => lastSuccess(server), { timeout: 60_000, interval: 250 }).toBeGreaterThan(swappedAt + 0.5);
      // The fused ranking may still find the probe memories by their words (the lexical signal is
      // intact), which is why the probe also scores each signal alone: the vector signal falls.
      const swapped = (await vectorRecallAtK(server))!;
      expect(swapped).toBeLessThan(healthy - 0.2);
    } finally {
      await server.destroy();
      await models.stop();
    }
  });
});

describe("engram probe (the CronJob)", () => {
  let gateway: PushgatewayServer;
  let dir: string;
  beforeAll(async () => {
    gateway = await startPushgateway();
    dir = mkdtempSync(join(tmpdir(), "engram-probe-"));
  });
  afterAll(async () => {
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs an operator's probe set once, prints its figures and pushes them to the Pushgateway", async () => {
    const file = join(dir, "probe-set.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "ops",
        memories: [
          { key: "rota", type: "semantic", content: "The on-call rota changes every Monday at nine." },
          { key: "vpn", type: "semantic", content: "The office VPN gateway is vpn-7731.example.net." },
          { key: "tea", type: "preference", content: "Oskar likes green tea in the afternoon." },
        ],
        queries: [
          { query: "vpn-7731", relevant: ["vpn"] },
          { query: "on-call rota Monday", relevant: ["rota"] },
        ],
      }),
    );
    const env = {
      ...process.env,
      ENGRAM_DATA_DIR: dir,
      ENGRAM_MODEL_PROVIDER: "local",
      ENGRAM_PUSHGATEWAY_URL: gateway.url,
    };
    const { stdout } = await run(engramCli[0], [...engramCli[1], "probe", "--probe-set", file, "--top-k", "1"], {
      env,
    });
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ probeSet: "ops", topK: 1, queries: 2, recallAtK: 1, missed: 0, seeded: true });
    // A second run finds the probe memories in place and leaves them alone.
    const again = await run(engramCli[0], [...engramCli[1], "probe", "--probe-set", file, "--top-k", "1"], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({ recallAtK: 1, seeded: false });

    const pushed = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(pushed).toMatch(/^engram_probe_recall_at_k\{instance="",job="engram_probe",k="1",probe_set="ops"\} 1$/m);
    expect(pushed).toMatch(/^engram_probe_last_success_timestamp_seconds\{[^}]*probe_set="ops"\} \d/m);
  });

  it("(like the server, given ENGRAM_PROBE_SET) refuses a probe set that does not validate, naming the variable and the field", async () => {
    const file = join(dir, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "bad",
        memories: [{ key: "a", type: "semantic", content: "x" }],
        queries: [{ query: "q", relevant: ["b"] }],
      }),
    );
    await expect(
      startTestServer({ ENGRAM_PROBE_INTERVAL_SECONDS: "60", ENGRAM_PROBE_SET: file, ENGRAM_MODEL_PROVIDER: "local" }),
    ).rejects.toThrow(/^ENGRAM_PROBE_SET: probe set .*queries\[0\]\.relevant: must name at least one key/);
  });
});
