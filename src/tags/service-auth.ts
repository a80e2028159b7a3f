/**
 * Service credentials, for journal recovery at start-up and the `restore`
 * command only; never used to serve a client.
 *
 * Wraps an upstream client: each request goes out with Basic credentials (or a
 * token already fetched for the scope); when the upstream answers 401 with a
 * Bearer challenge, a token for the challenged scope is fetched from the realm
 * with the same credentials as Basic, and the request is sent once more.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { parseChallenge } from "../oci/auth-challenge.js";
import { createHttpClient } from "../registry-client/http.js";
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from "../upstream/client.js";

export interface ServiceCredentials {
  username: string;
  password: string;
}

function basic(c: ServiceCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Fetches a registry token from a Bearer challenge's realm. */
export async function fetchToken(
  challenge: Record<string, string>,
  creds: ServiceCredentials,
  timeoutMs = 10_000,
): Promise<CachedToken> {
  const realm = challenge["realm"];
  if (!realm) throw new Error("Bearer challenge without a realm");
  const url = new URL(realm);
  if (challenge["service"]) url.searchParams.set("service", challenge["service"]);
  for (const scope of (challenge["scope"] ?? "").split(" ").filter(Boolean)) {
    url.searchParams.append("scope", scope);
  }
  // Tokens are fetched rarely (once per scope until they expire): a client for this call only.
  const realmClient = createHttpClient(url.origin, { timeoutMs, connections: 1 });
  let res: UpstreamResponse;
  try {
    res = await realmClient.request({
      method: "GET",
      path: url.pathname + url.search,
      headers: { authorization: basic(creds), accept: "application/json" },
      maxBodyBytes: 1024 * 1024,
    });
  } finally {
    await realmClient.close();
  }
  if (res.status < 200 || res.status > 299) throw new Error(`token realm answered ${res.status}`);
  const body = JSON.parse(res.body.toString("utf8")) as {
    token?: string;
    access_token?: string;
    expires_in?: number;
  };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error("token realm answered without a token");
  const ttl = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
  return { token, expiresAt: Date.now() + Math.max(1, ttl - 5) * 1000 };
}

export function withServiceCredentials(client: UpstreamClient, creds: ServiceCredentials): UpstreamClient {
  const tokens = new Map<string, CachedToken>();
  /** The scope last challenged per repository path prefix, to reuse its token. */
  const scopeFor = new Map<string, string>();

  function repoOf(path: string): string {
    const m = /^\/v2\/(.+?)\/(?:manifests|tags|blobs)\//.exec(path);
    return m?.[1] ?? "";
  }

  function authFor(path: string, method: string): string {
    const scope = scopeFor.get(`${method} ${repoOf(path)}`);
    const t = scope ? tokens.get(scope) : undefined;
    return t && t.expiresAt > Date.now() ? `Bearer ${t.token}` : basic(creds);
  }

  async function request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const send = (authorization: string) =>
      client.request({ ...req, headers: { ...(req.headers as OutgoingHttpHeaders), authorization } });
    const first = await send(authFor(req.path, req.method));
    if (first.status !== 401) return first;
    const raw = first.headers["www-authenticate"];
    const challenge = parseChallenge((Array.isArray(raw) ? raw[0] : raw) ?? "");
    if (challenge?.scheme !== "bearer") return first;
    const scope = challenge.params["scope"] ?? "";
    let token: CachedToken;
    try {
      token = await fetchToken(challenge.params, creds, client.target.requestTimeoutMs);
    } catch {
      return first; // the caller sees the upstream's 401: credentials not usable
    }
    tokens.set(scope, token);
    scopeFor.set(`${req.method} ${repoOf(req.path)}`, scope);
    return send(`Bearer ${token.token}`);
  }

  return { request, target: client.target, close: () => client.close() };
}
