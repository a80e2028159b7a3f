/**
 * A small Docker token server for tests (registry-2.8 notes §10): the
 * `GET /token?service=…&scope=…` endpoint with Basic auth or anonymous, users
 * with passwords and per-repository allowed actions, and ES256 JWTs whose `x5c`
 * header carries a self-signed EC P-256 certificate that the registry trusts as
 * its `rootcertbundle`. It grants the intersection of what was asked for and
 * what the user may do. `aud` is a string and the signature raw r||s, as 2.8
 * requires.
 *
 * Start it before the registry: the registry's config needs its realm.
 *   const ts = await startTokenServer({ users: { alice: { password: "pw", repositories: { "*": ["*"] } } } });
 *   const registry = await startRegistry({ token: ts.registryAuth });
 */
import { createPrivateKey, type KeyObject, randomUUID, sign, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeSelfSigned } from "./tls.js";

/** One entry of the JWT `access` claim (and of a parsed scope). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenUser {
  password: string;
  /** Repository name (exact) or `*` (any repository) → allowed actions (`pull`, `push`, `delete`, `*`). */
  repositories?: Readonly<Record<string, readonly string[]>>;
  /** May list the catalog (`registry:catalog:*`). */
  catalog?: boolean;
}

export interface TokenServerOptions {
  /** The registry's `auth.token.service` (the token's `aud`). Default `legacy-registry`. */
  service?: string;
  /** `iss` of the tokens and the registry's `auth.token.issuer`. Default `token-server`. */
  issuer?: string;
  users?: Readonly<Record<string, TokenUser>>;
  /** What a request without credentials may get: repository (or `*`) → actions. Default nothing. */
  anonymous?: Readonly<Record<string, readonly string[]>>;
  /** Token lifetime. Default 300 s. */
  ttlSeconds?: number;
  /** Issue tokens that expired 10 minutes ago (beyond 2.8's 60 s leeway). Default false. */
  expired?: boolean;
}

/** What the token endpoint saw and answered, for assertions. */
export interface TokenRequestRecord {
  /** The Basic user, or null for anonymous requests. */
  account: string | null;
  service: string | null;
  /** The `scope` values as sent (one entry per parameter). */
  scopes: string[];
  /** What the token grants (empty on 401). */
  granted: AccessEntry[];
  status: number;
}

export interface TokenServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** `${url}/token`: the registry's `auth.token.realm`. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM of the signing certificate: the registry's `rootcertbundle`. */
  readonly certFile: string;
  /** Ready for `startRegistry({ token: ts.registryAuth })`. */
  readonly registryAuth: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** Mints a token directly (no HTTP); `expiresInSeconds` may be negative. */
  issue(subject: string, access: readonly AccessEntry[], options?: { expiresInSeconds?: number }): string;
  /** From now on, tokens from the endpoint are issued already expired (or not). */
  setExpired(expired: boolean): void;
  /** Adds or replaces a user. */
  setUser(name: string, user: TokenUser): void;
  /** Every request to the endpoint so far. */
  requests(): TokenRequestRecord[];
  /** Every token issued so far (endpoint and `issue`), for log leak checks. */
  issuedTokens(): string[];
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

/** Parses `type:name:actions` (the name may itself contain `:`, e.g. a host:port prefix). */
export function parseScope(scope: string): AccessEntry | null {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return null;
  const actions = scope
    .slice(last + 1)
    .split(",")
    .filter(Boolean);
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

/** The actions of `requested` that `allowed` permits (`*` allows everything). */
export function grantActions(requested: readonly string[], allowed: readonly string[]): string[] {
  if (allowed.includes("*")) return [...requested];
  return requested.filter((a) => allowed.includes(a));
}

function allowedFor(
  entry: AccessEntry,
  user: TokenUser | null,
  anonymous: Readonly<Record<string, readonly string[]>>,
): readonly string[] {
  if (entry.type === "registry" && entry.name === "catalog") return user?.catalog ? ["*"] : [];
  if (entry.type !== "repository") return [];
  const table = user ? (user.repositories ?? {}) : anonymous;
  return [...(table[entry.name] ?? []), ...(table["*"] ?? [])];
}

function parseBasic(header: string | undefined): { user: string; password: string } | null {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, "base64").toString();
  const colon = decoded.indexOf(":");
  if (colon === -1) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const service = options.service ?? "legacy-registry";
  const issuer = options.issuer ?? "token-server";
  const ttl = options.ttlSeconds ?? 300;
  const anonymous = options.anonymous ?? {};
  const users = new Map(Object.entries(options.users ?? {}));
  let expired = options.expired ?? false;

  const dir = mkdtempSync(join(tmpdir(), "rcp-token-"));
  const pair = makeSelfSigned(dir, "token", "/CN=token-server");
  const key: KeyObject = createPrivateKey(readFileSync(pair.key));
  const x5c = new X509Certificate(readFileSync(pair.cert)).raw.toString("base64");
  const records: TokenRequestRecord[] = [];
  const tokens: string[] = [];

  function issue(subject: string, access: readonly AccessEntry[], o: { expiresInSeconds?: number } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const lifetime = o.expiresInSeconds ?? (expired ? -600 : ttl);
    const issuedAt = lifetime < 0 ? now + lifetime - 300 : now;
    const header = { typ: "JWT", alg: "ES256", x5c: [x5c] };
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service, // a string: 2.8 refuses an array
      exp: now + lifetime,
      nbf: issuedAt - 1,
      iat: issuedAt,
      jti: randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    // JWS ES256 wants the raw r||s form, not DER.
    const signature = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
    const token = `${input}.${b64url(signature)}`;
    tokens.push(token);
    return token;
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://token.invalid");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== "/token" || (req.method !== "GET" && req.method !== "HEAD")) {
      send(404, { details: "not found" });
      return;
    }
    const scopes = url.searchParams.getAll("scope");
    const record: TokenRequestRecord = {
      account: null,
      service: url.searchParams.get("service"),
      scopes,
      granted: [],
      status: 200,
    };
    records.push(record);
    const basic = parseBasic(req.headers.authorization);
    let user: TokenUser | null = null;
    if (req.headers.authorization !== undefined) {
      const found = basic ? users.get(basic.user) : undefined;
      if (!basic || !found || found.password !== basic.password) {
        record.status = 401;
        record.account = basic?.user ?? null;
        send(401, { details: "incorrect username or password" });
        return;
      }
      user = found;
      record.account = basic.user;
    }
    if (record.service !== null && record.service !== service) {
      record.status = 400;
      send(400, { details: `unknown service ${record.service}` });
      return;
    }
    // One parameter may hold several scopes separated by spaces (the challenge's form).
    for (const scope of scopes.flatMap((s) => s.split(" ")).filter(Boolean)) {
      const entry = parseScope(scope);
      if (!entry) continue;
      const actions = grantActions(entry.actions, allowedFor(entry, user, anonymous));
      if (actions.length > 0) record.granted.push({ ...entry, actions });
    }
    const token = issue(record.account ?? "", record.granted);
    send(200, { token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() });
  }

  const server = http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const realm = `${url}/token`;
  return {
    url,
    realm,
    service,
    issuer,
    certFile: pair.cert,
    registryAuth: { realm, service, issuer, rootCertBundle: pair.cert },
    issue,
    setExpired: (on) => {
      expired = on;
    },
    setUser: (name, user) => {
      users.set(name, user);
    },
    requests: () => [...records],
    issuedTokens: () => [...tokens],
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
