/**
 * A small token server for distribution's token auth (registry-2.8 notes §10):
 * ES256 JWTs with an `x5c` header holding a self-signed certificate that the
 * registry trusts as its root bundle. Users authenticate with Basic; each is
 * granted the requested actions it is allowed, per repository.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TokenUser {
  password: string;
  /** Actions this user may get on every repository. */
  actions: string[];
}

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM certificate file for the registry's `rootcertbundle`. */
  readonly rootCertBundle: string;
  /** A token for `user` with exactly these actions on `repository` (for direct use in tests). */
  tokenFor(user: string, repository: string, actions: string[]): string;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export async function startTokenServer(users: Record<string, TokenUser>): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), "rcp-token-"));
  const keyFile = join(dir, "token.key");
  const certFile = join(dir, "token.crt");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      "/CN=rcp-test-token",
      "-days",
      "2",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  const key = createPrivateKey(readFileSync(keyFile));
  const der = new X509Certificate(readFileSync(certFile)).raw;
  const service = "legacy-registry";
  const issuer = "rcp-test-issuer";

  function token(sub: string, access: Array<{ type: string; name: string; actions: string[] }>): string {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [der.toString("base64")] }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub,
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const sig = sign("sha256", Buffer.from(`${header}.${claims}`), { key, dsaEncoding: "ieee-p1363" });
    return `${header}.${claims}.${b64url(sig)}`;
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const auth = req.headers.authorization ?? "";
    const [user, password] = Buffer.from(auth.replace(/^Basic /, ""), "base64")
      .toString()
      .split(":");
    const u = user ? users[user] : undefined;
    if (!u || u.password !== password) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end('{"details":"invalid credentials"}');
      return;
    }
    const access = url.searchParams.getAll("scope").flatMap((scope) =>
      scope.split(" ").flatMap((s) => {
        const [type, name, actions] = s.split(":");
        if (type !== "repository" || !name || !actions) return [];
        return [{ type, name, actions: actions.split(",").filter((a) => u.actions.includes(a)) }];
      }),
    );
    const t = token(user!, access);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token: t, access_token: t, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    tokenFor: (user, repository, actions) => token(user, [{ type: "repository", name: repository, actions }]),
    stop: () =>
      new Promise((r) => {
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          r();
        });
        server.closeAllConnections();
      }),
  };
}
