/**
 * Test TLS material made with the `openssl` CLI: a private CA, server
 * certificates for loopback (IP:127.0.0.1, DNS:localhost) and client
 * certificates, all EC P-256, in a temporary folder removed by `cleanup()`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTools } from "./prereq.js";

export interface CertFiles {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key (unencrypted). */
  readonly key: string;
}

export interface TestCa extends CertFiles {
  readonly dir: string;
  /** A server certificate for 127.0.0.1 and localhost, signed by this CA. */
  issueServer(name: string): CertFiles;
  /** A client certificate (extendedKeyUsage clientAuth) signed by this CA. */
  issueClient(name: string): CertFiles;
  cleanup(): void;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A self-signed EC P-256 certificate and key (e.g. the token server's signing pair). */
export function makeSelfSigned(dir: string, name: string, subject = `/CN=${name}`): CertFiles {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(["req", "-x509", ...EC, "-keyout", key, "-out", cert, "-days", "2", "-subj", subject]);
  return { cert, key };
}

export function makeCa(name = "rcp-test-ca"): TestCa {
  requireTools("openssl");
  const dir = mkdtempSync(join(tmpdir(), "rcp-tls-"));
  const ca = makeSelfSigned(dir, "ca", `/CN=${name}`);
  let serial = 1;

  function issue(leaf: string, ext: string): CertFiles {
    const key = join(dir, `${leaf}.key`);
    const csr = join(dir, `${leaf}.csr`);
    const cert = join(dir, `${leaf}.crt`);
    const extFile = join(dir, `${leaf}.ext`);
    writeFileSync(extFile, ext);
    openssl(["req", ...EC, "-keyout", key, "-out", csr, "-subj", `/CN=${leaf}`]);
    openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca.cert,
      "-CAkey",
      ca.key,
      "-set_serial",
      String(serial++),
      "-out",
      cert,
      "-days",
      "2",
      "-extfile",
      extFile,
    ]);
    return { cert, key };
  }

  return {
    dir,
    ...ca,
    issueServer: (leaf) =>
      issue(leaf, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
    issueClient: (leaf) => issue(leaf, "extendedKeyUsage=clientAuth\n"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
