import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * The tools the deployment tests need, installed from package registries
 * into a cache outside the clone: helm built from its Go module, and the
 * offline Kubernetes schema validator `kubernetes-validate` from PyPI.
 */
const run = promisify(execFile);
export const helmVersion = "v3.19.0";
export const kubernetesValidateVersion = "1.37.0";
/** The Kubernetes version manifests are validated against. */
export const kubernetesVersion = "1.33";

function cacheDir(): string {
  return process.env.ENGRAM_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "engram");
}

export function helmBinary(): string {
  return join(cacheDir(), `helm-${helmVersion}`, "helm");
}

export function kubernetesValidateBinary(): string {
  return join(cacheDir(), `kubernetes-validate-${kubernetesValidateVersion}`, "bin", "kubernetes-validate");
}

export async function setup(): Promise<void> {
  if (!existsSync(helmBinary())) {
    const bin = join(cacheDir(), `helm-${helmVersion}`);
    mkdirSync(bin, { recursive: true });
    process.stderr.write(`engram tests: building helm ${helmVersion} with go install (cached in ${bin})\n`);
    await run("go", ["install", `helm.sh/helm/v3/cmd/helm@${helmVersion}`], {
      env: { ...process.env, GOBIN: bin, CGO_ENABLED: "0" },
      maxBuffer: 64 * 1024 * 1024,
    });
  }
  if (!existsSync(kubernetesValidateBinary())) {
    const venv = join(cacheDir(), `kubernetes-validate-${kubernetesValidateVersion}`);
    process.stderr.write(`engram tests: installing kubernetes-validate ${kubernetesValidateVersion} into ${venv}\n`);
    await run("python3", ["-m", "venv", venv]);
    await run(join(venv, "bin", "pip"), ["install", "--quiet", `kubernetes-validate==${kubernetesValidateVersion}`], {
      maxBuffer: 64 * 1024 * 1024,
    });
  }
}
