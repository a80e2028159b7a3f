/**
 * A docker token server for prune tests (distribution `auth.token`): Basic-checked
 * users, every requested action granted, ES256 JWTs with an `x5c` header chaining
 * to a self-signed certificate (made with openssl) that the registry trusts.
 * It records each token request so tests can count them.
 */
import { execFileSync } from "node:child_process";
import { sign, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TokenServer {
  readonly url: string;
  /** For startRegistry({ token }). */
  readonly registryAuth: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** The `scope` list of every token request so far. */
  readonly requests: Array<{ user: string | null; scopes: string[] }>;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export async function startTokenServer(
  users: Record<string, string>,
  options: { expiresIn?: number; allowAnonymous?: boolean } = {},
): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), "rcp-token-"));
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-subj",
      "/CN=test-token-issuer",
      "-days",
      "2",
    ],
    { stdio: "ignore" },
  );
  const key = readFileSync(keyPath, "utf8");
  const der = new X509Certificate(readFileSync(certPath)).raw;
  const service = "test-registry";
  const issuer = "test-token-issuer";
  const requests: TokenServer["requests"] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const scopes = url.searchParams.getAll("scope");
    let user: string | null = null;
    const auth = req.headers.authorization;
    if (auth?.startsWith("Basic ")) {
      const [u, ...p] = Buffer.from(auth.slice(6), "base64").toString().split(":");
      if (u && users[u] === p.join(":")) user = u;
      else {
        res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
        return;
      }
    } else if (!options.allowAnonymous) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"details":"credentials required"}');
      return;
    }
    requests.push({ user, scopes });
    const access = scopes.flatMap((s) => {
      const m = /^([^:]+):(.+):([^:]+)$/.exec(s);
      return m ? [{ type: m[1], name: m[2], actions: m[3]!.split(",") }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresIn ?? 300;
    const header = { typ: "JWT", alg: "ES256", x5c: [der.toString("base64")] };
    const claims = {
      iss: issuer,
      sub: user ?? "",
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: `${now}-${requests.length}`,
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        token: `${input}.${b64url(sig)}`,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    registryAuth: { realm: `${url}/token`, service, issuer, rootCertBundle: certPath },
    requests,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
