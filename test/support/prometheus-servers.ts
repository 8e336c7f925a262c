import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

/**
 * Debian's Prometheus and Pushgateway (scripts/test-servers.sh installs
 * them), started per test on free ports with their own temporary storage.
 */
export interface PrometheusServer {
  readonly url: string;
  /** Runs an instant query; throws on an API error (a bad expression). */
  query(expr: string): Promise<{ resultType: string; result: unknown[] }>;
  stop(): Promise<void>;
}

export interface PushgatewayServer {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startPrometheus(options: {
  /** host:port of each scrape target. */
  readonly targets: readonly string[];
  readonly scrapeInterval: string;
  /** Rule files (alerting rules) to load and evaluate. */
  readonly ruleFiles?: readonly string[];
}): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), "engram-prometheus-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: options.scrapeInterval, evaluation_interval: options.scrapeInterval },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: [
        // honor_labels: pushed groups keep their own job/instance, as a Pushgateway scrape must.
        { job_name: "engram", honor_labels: true, static_configs: [{ targets: options.targets }] },
      ],
    }),
  );
  const port = await freePort();
  const child = spawn(
    "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const url = `http://127.0.0.1:${port}`;
  await ready(child, `${url}/-/ready`, "prometheus");
  return {
    url,
    query: async (expr) => {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data: { resultType: string; result: unknown[] };
      };
      if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
      return body.data;
    },
    stop: async () => {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startPushgateway(): Promise<PushgatewayServer> {
  const port = await freePort();
  const child = spawn("prometheus-pushgateway", [`--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = `http://127.0.0.1:${port}`;
  await ready(child, `${url}/-/ready`, "pushgateway");
  return { url, stop: () => terminate(child) };
}

async function ready(child: ChildProcess, url: string, name: string): Promise<void> {
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}): ${stderr}`))),
  );
  const polled = (async () => {
    for (;;) {
      const ok = await fetch(url).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await Promise.race([polled, exited]);
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
