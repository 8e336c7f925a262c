import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/** Throwaway certificate authorities and certificates for TLS tests, made with the openssl CLI. */
const run = promisify(execFile);

export interface Certificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export class TestAuthority {
  private constructor(
    private readonly dir: string,
    readonly root: Certificate,
  ) {}

  static async create(name: string): Promise<TestAuthority> {
    const dir = mkdtempSync(join(tmpdir(), `engram-ca-${name}-`));
    const keyFile = join(dir, "ca.key");
    const certFile = join(dir, "ca.crt");
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      `/CN=${name} test CA`,
    ]);
    return new TestAuthority(dir, { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) });
  }

  /** A certificate with this CN, signed by the authority; `ip` adds an IP subject alternative name. */
  async issue(cn: string, options: { ip?: string } = {}): Promise<Certificate> {
    const keyFile = join(this.dir, `${cn}.key`);
    const csrFile = join(this.dir, `${cn}.csr`);
    const certFile = join(this.dir, `${cn}.crt`);
    const extFile = join(this.dir, `${cn}.ext`);
    writeFileSync(extFile, options.ip ? `subjectAltName=IP:${options.ip}\n` : "extendedKeyUsage=clientAuth\n");
    await run("openssl", [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      csrFile,
      "-subj",
      `/CN=${cn}`,
    ]);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      csrFile,
      "-CA",
      this.root.certFile,
      "-CAkey",
      this.root.keyFile,
      "-CAcreateserial",
      "-out",
      certFile,
      "-days",
      "2",
      "-extfile",
      extFile,
    ]);
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  }
}
