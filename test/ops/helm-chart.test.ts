import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
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

describe("helm chart", () => {
  it.each([[[]], [["-f", production]]])("lints with values %j", async (args) => {
    const { stdout } = await run(helmBinary(), ["lint", chart, ...args]);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it.each([
    ["default values", [] as string[]],
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
    const { manifests } = await render();
    const deployment = byKind(manifests, "Deployment")!;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(container.readinessProbe.grpc.port).toBe(50051);
    expect(container.livenessProbe.grpc).toMatchObject({ port: 50051, service: "engram.v1.MemoryService" });
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

  it("mounts the hashed tokens, and refuses to render an unauthenticated server unless insecure is explicit", async () => {
    const { manifests } = await render();
    const config = byKind(manifests, "ConfigMap")!.data!;
    expect(config.ENGRAM_AUTH_TOKENS_FILE).toBe("/etc/engram/auth/tokens.json");
    const pod = byKind(manifests, "Deployment")!.spec.template.spec;
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({ name: "auth", secret: expect.objectContaining({ secretName: "engram-auth-tokens" }) }),
    );
    const refused = await render("--set", "auth.tokensSecret=").catch((e: { stderr: string }) => e.stderr);
    expect(refused).toMatch(/set auth\.tokensSecret/);
    const insecure = await render("--set", "auth.tokensSecret=", "--set", "auth.insecure=true");
    expect(byKind(insecure.manifests, "ConfigMap")!.data!.ENGRAM_INSECURE).toBe("true");
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
    const { manifests } = await render();
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
    const failure = await render(...args).catch((e: { stderr: string }) => e.stderr);
    expect(failure).toMatch(message);
  });

  it("rejects values the schema forbids, naming them", async () => {
    const failure = await render("--set", "piiMode=sometimes").catch((e: { stderr: string }) => e.stderr);
    expect(failure).toMatch(/piiMode/);
    const openaiWithoutUrl = await render("--set", "models.provider=openai").catch((e: { stderr: string }) => e.stderr);
    expect(openaiWithoutUrl).toMatch(/models\.openai\.baseUrl is required/);
  });
});
