import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config.js";
import { helmBinary, kubernetesValidateBinary, kubernetesVersion } from "../support/ops-tools.js";

/** The Helm chart: linted, rendered for default and production values, validated offline against Kubernetes schemas. */
const run = promisify(execFile);
const chart = "helm/engram";
const production = "helm/engram/ci/production-values.yaml";

type Manifest = { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };

async function render(...args: string[]): Promise<{ text: string; manifests: Manifest[] }> {
  const { stdout } = await run(helmBinary(), ["template", "engram", chart, ...args], { maxBuffer: 16 * 1024 * 1024 });
  const manifests = parseAllDocuments(stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  return { text: stdout, manifests };
}

const byKind = (manifests: Manifest[], kind: string) => manifests.find((m) => m.kind === kind);
/** The least an install must say: where the callers' token hashes are. */
const minimal = ["--set", "auth.tokensSecret=engram-auth-tokens"];

describe("helm chart", () => {
  it.each([[minimal], [["-f", production]]])("lints with values %j", async (args) => {
    const { stdout } = await run(helmBinary(), ["lint", chart, ...args]);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it.each([
    ["minimal values", minimal],
    ["production values", ["-f", production]],
  ])("renders %s into manifests that pass the Kubernetes schemas", async (_, args) => {
    const { text } = await render(...args);
    const file = join(mkdtempSync(join(tmpdir(), "engram-helm-")), "manifests.yaml");
    writeFileSync(file, text);
    const { stdout, stderr } = await run(kubernetesValidateBinary(), ["--strict", "-k", kubernetesVersion, file]);
    const output = `${stdout}${stderr}`;
    expect(output).not.toMatch(/ERROR|FAIL/);
    expect(output).toMatch(/passed for resource deployment\/engram/);
    expect(output).toMatch(/passed for resource cronjob\/engram-evict/);
  });

  it("runs the server non-root on a read-only root filesystem, with gRPC probes and a drain the kubelet waits for", async () => {
    const { manifests } = await render(...minimal);
    const deployment = byKind(manifests, "Deployment")!;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    // Start-up and liveness ask for the process, readiness for the backends:
    // an outage of Redis or Weaviate never restarts a pod, even one booting.
    expect(container.startupProbe.grpc).toEqual({ port: 50051, service: "liveness" });
    expect(container.livenessProbe.grpc).toEqual({ port: 50051, service: "liveness" });
    expect(container.readinessProbe.grpc).toEqual({ port: 50051, service: "readiness" });
    expect(container.resources.requests).toBeDefined();
    const config = byKind(manifests, "ConfigMap")!.data!;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(config.ENGRAM_SHUTDOWN_GRACE_SECONDS));
    expect(container.args).toEqual(["serve"]);
  });

  it("schedules `engram evict` nightly with the same image and configuration, never two at once", async () => {
    const { manifests } = await render("-f", production);
    const cron = byKind(manifests, "CronJob")!;
    const deployment = byKind(manifests, "Deployment")!;
    expect(cron.spec.schedule).toBe("30 2 * * *");
    expect(cron.spec.concurrencyPolicy).toBe("Forbid");
    expect(cron.spec.jobTemplate.spec.backoffLimit).toBeGreaterThanOrEqual(0);
    expect(cron.spec.successfulJobsHistoryLimit).toBeDefined();
    const job = cron.spec.jobTemplate.spec.template.spec.containers[0];
    const server = deployment.spec.template.spec.containers[0];
    expect(job.image).toBe(server.image);
    expect(job.args[0]).toBe("evict");
    expect(job.envFrom).toEqual(server.envFrom);
  });

  it("wires the production backends, secrets and monitoring", async () => {
    const { manifests } = await render("-f", production);
    const config = byKind(manifests, "ConfigMap")!.data!;
    expect(config.ENGRAM_REDIS_CLUSTER_NODES?.split(",")).toHaveLength(3);
    expect(config.ENGRAM_WEAVIATE_URL).toBe("http://weaviate.data.svc:80");
    expect(config.ENGRAM_MODEL_PROVIDER).toBe("openai");
    const server = byKind(manifests, "Deployment")!.spec.template.spec.containers[0];
    expect(server.envFrom).toContainEqual({ secretRef: { name: "engram-secrets" } });
    expect(byKind(manifests, "ServiceMonitor")?.metadata.name).toBe("engram");
    expect(byKind(manifests, "HorizontalPodAutoscaler")?.spec.minReplicas).toBe(3);
    expect(byKind(manifests, "PodDisruptionBudget")?.spec.minAvailable).toBe(2);
    const dashboard = manifests.find((m) => m.metadata.name === "engram-dashboard")!;
    expect(JSON.parse(dashboard.data!["engram.json"]!).title).toBe("Engram");
  });

  it("mounts the hashed tokens for the server only, and refuses to render without callers unless insecure is explicit", async () => {
    const { manifests } = await render(...minimal);
    const pod = byKind(manifests, "Deployment")!.spec.template.spec;
    expect(pod.containers[0].env).toContainEqual({
      name: "ENGRAM_AUTH_TOKENS_FILE",
      value: "/etc/engram/auth/tokens.json",
    });
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({ name: "auth", secret: expect.objectContaining({ secretName: "engram-auth-tokens" }) }),
    );
    // The eviction Job neither listens nor authenticates: it must not need the tokens file.
    const job = byKind(manifests, "CronJob")!.spec.jobTemplate.spec.template.spec.containers[0];
    expect(job.env ?? []).toEqual([]);
    expect(byKind(manifests, "ConfigMap")!.data!.ENGRAM_AUTH_TOKENS_FILE).toBeUndefined();

    const refused = await render().catch((e: { stderr: string }) => e.stderr);
    expect(refused).toMatch(
      /set auth\.callers .* or auth\.tokensSecret=NAME after `kubectl create secret generic NAME --from-file=tokens\.json`/,
    );
    const both = await render(
      ...minimal,
      "--set-json",
      'auth.callers=[{"name":"a","certificateCn":"a","namespaces":["x"],"permissions":["read"]}]',
    ).catch((e: { stderr: string }) => e.stderr);
    expect(both).toMatch(/not both/);
    const insecure = await render("--set", "auth.insecure=true");
    expect(byKind(insecure.manifests, "ConfigMap")!.data!.ENGRAM_INSECURE).toBe("true");
    expect(byKind(insecure.manifests, "Deployment")!.spec.template.spec.volumes.map((v: any) => v.name)).not.toContain(
      "auth",
    );
  });

  it("creates the tokens Secret from auth.callers, holding only hashes, and rejects a malformed hash", async () => {
    const callers = [{ name: "chat-api", tokenSha256: "a".repeat(64), namespaces: ["chat"], permissions: ["read"] }];
    const { manifests } = await render("--set-json", `auth.callers=${JSON.stringify(callers)}`);
    const secret = byKind(manifests, "Secret") as Manifest & { stringData: Record<string, string> };
    expect(secret.metadata.name).toBe("engram-auth");
    expect(JSON.parse(secret.stringData["tokens.json"]!)).toEqual({ callers });
    const pod = byKind(manifests, "Deployment")!.spec.template.spec;
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({ name: "auth", secret: expect.objectContaining({ secretName: "engram-auth" }) }),
    );
    const bad = [{ ...callers[0], tokenSha256: "not-a-hash" }];
    const refused = await render("--set-json", `auth.callers=${JSON.stringify(bad)}`).catch(
      (e: { stderr: string }) => e.stderr,
    );
    expect(refused).toMatch(/tokenSha256/);
  });

  it("probes over HTTP on the metrics port when TLS is on, and mounts the certificate for the server only", async () => {
    const { manifests } = await render("-f", production);
    const container = byKind(manifests, "Deployment")!.spec.template.spec.containers[0];
    expect(container.startupProbe.httpGet).toEqual({ path: "/livez", port: "metrics" });
    expect(container.livenessProbe.httpGet).toEqual({ path: "/livez", port: "metrics" });
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    expect(container.env).toContainEqual({ name: "ENGRAM_TLS_CERT_FILE", value: "/etc/engram/tls/tls.crt" });
    expect(container.env.map((e: { name: string }) => e.name)).not.toContain("ENGRAM_TLS_CLIENT_CA_FILE");
    const mtls = await render("-f", production, "--set", "tls.verifyClients=true");
    const verified = byKind(mtls.manifests, "Deployment")!.spec.template.spec.containers[0];
    expect(verified.env).toContainEqual({ name: "ENGRAM_TLS_CLIENT_CA_FILE", value: "/etc/engram/tls/ca.crt" });
    const missing = await render(...minimal, "--set", "tls.enabled=true").catch((e: { stderr: string }) => e.stderr);
    expect(missing).toMatch(/tls\.secretName is required/);
  });

  it("lets the eviction Job push its runs to a Pushgateway, and only when asked", async () => {
    const jobEnv = async (...args: string[]) =>
      byKind((await render(...minimal, ...args)).manifests, "CronJob")!.spec.jobTemplate.spec.template.spec
        .containers[0].env;
    expect(await jobEnv()).toBeUndefined();
    expect(await jobEnv("--set", "eviction.pushgatewayUrl=http://pushgateway.monitoring.svc:9091")).toEqual([
      { name: "ENGRAM_PUSHGATEWAY_URL", value: "http://pushgateway.monitoring.svc:9091" },
    ]);
    const refused = await render(...minimal, "--set", "eviction.pushgatewayUrl=pushgateway:9091").catch(
      (e: { stderr: string }) => e.stderr,
    );
    expect(refused).toMatch(/pushgatewayUrl/);
  });

  it("serves MCP and exports traces only when asked, on the port the Service and network policy open", async () => {
    const off = await render(...minimal);
    expect(byKind(off.manifests, "ConfigMap")!.data).not.toHaveProperty("ENGRAM_MCP_ENABLED");
    expect(byKind(off.manifests, "ConfigMap")!.data).not.toHaveProperty("OTEL_EXPORTER_OTLP_ENDPOINT");
    expect(byKind(off.manifests, "Service")!.spec.ports.map((p: { name: string }) => p.name)).toEqual([
      "grpc",
      "metrics",
    ]);

    const { manifests } = await render(
      ...minimal,
      "--set",
      "mcp.enabled=true",
      "--set",
      "mcp.namespace=agents",
      "--set",
      "tracing.otlpEndpoint=http://otel-collector.monitoring:4318",
      "--set",
      "tracing.extraEnv.OTEL_TRACES_SAMPLER=parentbased_traceidratio",
    );
    expect(byKind(manifests, "ConfigMap")!.data).toMatchObject({
      ENGRAM_MCP_ENABLED: "true",
      ENGRAM_MCP_PORT: "50053",
      ENGRAM_MCP_NAMESPACE: "agents",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector.monitoring:4318",
      OTEL_SERVICE_NAME: "engram",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    });
    const server = byKind(manifests, "Deployment")!.spec.template.spec.containers[0];
    expect(server.ports).toContainEqual({ name: "mcp", containerPort: 50053, protocol: "TCP" });
    expect(byKind(manifests, "Service")!.spec.ports).toContainEqual(
      expect.objectContaining({ name: "mcp", port: 50053, targetPort: "mcp" }),
    );
    expect(byKind(manifests, "NetworkPolicy")!.spec.ingress[0].ports).toContainEqual({ port: "mcp", protocol: "TCP" });

    const refused = await render(...minimal, "--set", "tracing.extraEnv.ENGRAM_PORT=x").catch(
      (e: { stderr: string }) => e.stderr,
    );
    expect(refused).toMatch(/'ENGRAM_PORT' does not match pattern '\^OTEL_/);
  });

  it("never makes a running eviction Job a Service endpoint or a member of the disruption budget", async () => {
    const { manifests } = await render("-f", production);
    const jobLabels = byKind(manifests, "CronJob")!.spec.jobTemplate.spec.template.metadata.labels;
    const serverLabels = byKind(manifests, "Deployment")!.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(selector).every(([key, value]) => labels[key] === value);
    for (const selector of [
      byKind(manifests, "Service")!.spec.selector,
      byKind(manifests, "PodDisruptionBudget")!.spec.selector.matchLabels,
      byKind(manifests, "Deployment")!.spec.selector.matchLabels,
    ]) {
      expect(selects(selector, serverLabels)).toBe(true);
      expect(selects(selector, jobLabels)).toBe(false);
    }
  });

  it("runs the embedded default as one pod on a volume, with eviction beside it on that volume", async () => {
    const { manifests } = await render(...minimal);
    const deployment = byKind(manifests, "Deployment")!;
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe("Recreate");
    expect(byKind(manifests, "HorizontalPodAutoscaler")).toBeUndefined();
    const claim = byKind(manifests, "PersistentVolumeClaim")!.metadata.name;
    const volumeOf = (pod: any) => pod.volumes.find((v: any) => v.name === "data").persistentVolumeClaim?.claimName;
    expect(volumeOf(deployment.spec.template.spec)).toBe(claim);
    const job = byKind(manifests, "CronJob")!.spec.jobTemplate.spec.template.spec;
    expect(volumeOf(job)).toBe(claim);
    const [term] = job.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(term.topologyKey).toBe("kubernetes.io/hostname");
    expect(term.labelSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);

    const { manifests: shared } = await render("-f", production);
    expect(byKind(shared, "Deployment")!.spec.strategy.type).toBe("RollingUpdate");
    expect(byKind(shared, "CronJob")!.spec.jobTemplate.spec.template.spec.affinity).toBeUndefined();
  });

  it.each([
    [["--set", "replicaCount=2"], /embedded store lives in one pod: set redis\.url .* and weaviate\.url/],
    [["--set", "autoscaling.enabled=true"], /embedded store lives in one pod/],
    [["--set", "redis.url=redis://redis:6379", "--set", "replicaCount=3"], /embedded store lives in one pod/],
    [["--set", "persistence.enabled=false"], /eviction on the embedded store needs persistence\.enabled=true/],
  ])("refuses values that would split or strand the embedded store: %j", async (args, message) => {
    const failure = await render(...minimal, ...args).catch((e: { stderr: string }) => e.stderr);
    expect(failure).toMatch(message);
  });

  it("wires Redis Sentinel into a configuration the server accepts, waiting for a replica by default", async () => {
    const sentinel = [
      ...minimal,
      "--set",
      "redis.sentinel.nodes={sentinel-0.redis:26379,sentinel-1.redis:26379,sentinel-2.redis:26379}",
      "--set",
      "redis.sentinel.masterName=engram",
      "--set",
      "weaviate.url=http://weaviate.data.svc:80",
      "--set",
      "replicaCount=3",
    ];
    const config = byKind((await render(...sentinel)).manifests, "ConfigMap")!.data!;
    expect(config.ENGRAM_REDIS_SENTINELS).toBe("sentinel-0.redis:26379,sentinel-1.redis:26379,sentinel-2.redis:26379");
    const redis = loadConfig({ ...config, ENGRAM_DATA_DIR: tmpdir() }).store.redis!;
    expect(redis.sentinel?.masterName).toBe("engram");
    expect(redis.replicaAcknowledgement?.replicas).toBe(1);
    const noWait = byKind((await render(...sentinel, "--set", "redis.waitReplicas=0")).manifests, "ConfigMap")!.data!;
    expect(loadConfig({ ...noWait, ENGRAM_DATA_DIR: tmpdir() }).store.redis!.replicaAcknowledgement?.replicas).toBe(0);

    const withoutName = await render(...minimal, "--set", "redis.sentinel.nodes={s:26379}").catch(
      (e: { stderr: string }) => e.stderr,
    );
    expect(withoutName).toMatch(/redis\.sentinel\.masterName is required/);
    const tooMany = await render(...minimal, "--set", "redis.waitReplicas=17").catch(
      (e: { stderr: string }) => e.stderr,
    );
    expect(tooMany).toMatch(/waitReplicas/);
  });

  it("wires a replicated Weaviate into a configuration the server accepts, and refuses impossible replication", async () => {
    const config = byKind((await render("-f", production)).manifests, "ConfigMap")!.data!;
    const weaviate = loadConfig({ ...config, ENGRAM_DATA_DIR: tmpdir() }).store.weaviate!;
    expect(weaviate.replication).toEqual({ factor: 3, consistency: "QUORUM", asyncRepair: true });
    const one = byKind(
      (await render("-f", production, "--set", "weaviate.consistencyLevel=ONE")).manifests,
      "ConfigMap",
    )!.data!;
    expect(loadConfig({ ...one, ENGRAM_DATA_DIR: tmpdir() }).store.weaviate!.replication?.consistency).toBe("ONE");
    // The defaults: one node, so one replica; QUORUM (of one).
    const single = byKind(
      (await render(...minimal, "--set", "weaviate.url=http://weaviate:8080")).manifests,
      "ConfigMap",
    )!.data!;
    expect(loadConfig({ ...single, ENGRAM_DATA_DIR: tmpdir() }).store.weaviate!.replication).toEqual({
      factor: 1,
      consistency: "QUORUM",
      asyncRepair: true,
    });

    for (const [value, name] of [
      ["weaviate.consistencyLevel=MOST", /consistencyLevel/],
      ["weaviate.replicationFactor=0", /replicationFactor/],
    ] as const) {
      const failure = await render("-f", production, "--set", value).catch((e: { stderr: string }) => e.stderr);
      expect(failure).toMatch(name);
    }
  });

  it("rejects values the schema forbids, naming them", async () => {
    const failure = await render(...minimal, "--set", "piiMode=sometimes").catch((e: { stderr: string }) => e.stderr);
    expect(failure).toMatch(/piiMode/);
    const openaiWithoutUrl = await render(...minimal, "--set", "models.provider=openai").catch(
      (e: { stderr: string }) => e.stderr,
    );
    expect(openaiWithoutUrl).toMatch(/models\.openai\.baseUrl is required/);
  });
});
