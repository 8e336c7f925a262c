import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { helmBinary } from "../support/ops-tools.js";

/**
 * The Kubernetes page's commands (docs/kubernetes.md), exactly as written, run by bash with
 * `helm install` answered by `helm template` (the same rendering and
 * validation, without a cluster) and `kubectl` recorded: each renders a
 * server that has its callers' tokens.
 */
const run = promisify(execFile);

function readmeBlocks(): string[] {
  const page = readFileSync("docs/kubernetes.md", "utf8");
  return [...page.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes("helm install"));
}

const shims = `
helm() { if [ "$1" = install ]; then shift; "$HELM_BINARY" template "$@"; else "$HELM_BINARY" "$@"; fi; }
kubectl() { echo "kubectl $*" >&2; }
set -euo pipefail
`;

type Manifest = { kind: string; metadata: { name: string }; spec?: any; stringData?: Record<string, string> };

async function runBlock(block: string): Promise<{ manifests: Manifest[]; kubectl: string }> {
  const { stdout, stderr } = await run("bash", ["-c", shims + block], {
    env: { ...process.env, HELM_BINARY: helmBinary(), ENGRAM_TOKEN: "a-token-from-the-callers-secret" },
    maxBuffer: 16 * 1024 * 1024,
  });
  const manifests = parseAllDocuments(stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  return { manifests, kubectl: stderr };
}

describe("docs/kubernetes.md: helm install", () => {
  const blocks = readmeBlocks();

  it("has the commands this test runs", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  it("with callers from values: the chart creates the Secret with the token's hash, and the server mounts it", async () => {
    const { manifests } = await runBlock(blocks.find((b) => b.includes("auth.callers"))!);
    const secret = manifests.find((m) => m.kind === "Secret")!;
    const { callers } = JSON.parse(secret.stringData!["tokens.json"]!);
    expect(callers).toEqual([
      {
        name: "chat-api",
        tokenSha256: createHash("sha256").update("a-token-from-the-callers-secret").digest("hex"),
        namespaces: ["chat"],
        permissions: ["read", "write"],
      },
    ]);
    const pod = manifests.find((m) => m.kind === "Deployment")!.spec.template.spec;
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({ secret: expect.objectContaining({ secretName: secret.metadata.name }) }),
    );
  });

  it.each(["kubectl create secret", "replicaCount=3"])(
    "with a Secret created by hand (%s): the Secret the command names is the one mounted",
    async (marker) => {
      const block = blocks.find((b) => b.includes(marker))!;
      const { manifests, kubectl } = await runBlock(block);
      if (marker.startsWith("kubectl")) {
        expect(kubectl).toContain("kubectl create secret generic engram-auth-tokens --from-file=tokens.json");
      }
      expect(manifests.find((m) => m.kind === "Secret")).toBeUndefined();
      const pod = manifests.find((m) => m.kind === "Deployment")!.spec.template.spec;
      expect(pod.volumes).toContainEqual(
        expect.objectContaining({
          name: "auth",
          secret: expect.objectContaining({ secretName: "engram-auth-tokens" }),
        }),
      );
    },
  );
});
