/**
 * The client side of the Docker token dance, for tests: parse a
 * `WWW-Authenticate` challenge, fetch a token from its realm, retry with it.
 */
import { type ReqOptions, type Res, request } from "./http.js";

export interface Challenge {
  scheme: string;
  /** Parameters, lowercase keys: realm, service, scope, error. */
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…",error="…"` (or `Basic realm="…"`). */
export function parseChallenge(header: string | string[] | undefined): Challenge | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const m = /^(\S+)\s*(.*)$/.exec(value.trim());
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) {
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return { scheme: m[1]!, params };
}

/**
 * The scope parameter as sorted `type:name:actions` entries (one param may hold several),
 * each entry's actions sorted too: 2.8 varies both orders between calls.
 */
export function scopesOf(challenge: Challenge | null): string[] {
  return (challenge?.params["scope"] ?? "")
    .split(" ")
    .filter(Boolean)
    .map((s) => {
      const at = s.lastIndexOf(":");
      return `${s.slice(0, at)}:${s
        .slice(at + 1)
        .split(",")
        .sort()
        .join(",")}`;
    })
    .sort();
}

/** A challenge without its scope, plus its normalised scopes: equal for equivalent challenges. */
export function normalizeChallenge(header: string | string[] | undefined): unknown {
  const c = parseChallenge(header);
  if (!c) return null;
  const { scope: _scope, ...rest } = c.params;
  return { scheme: c.scheme, params: rest, scopes: scopesOf(c) };
}

/** `user:password` → Basic header value. */
export function basicAuth(creds: string): string {
  return `Basic ${Buffer.from(creds).toString("base64")}`;
}

/**
 * Fetches a token for `challenge` (its realm, service and scope, or `scopes` instead),
 * with Basic `creds` or anonymously. Throws on a non-200 answer.
 */
export async function fetchToken(challenge: Challenge, creds?: string, scopes?: string[]): Promise<string> {
  const url = new URL(challenge.params["realm"]!);
  if (challenge.params["service"]) url.searchParams.set("service", challenge.params["service"]);
  for (const s of scopes ?? scopesOf(challenge)) url.searchParams.append("scope", s);
  const res = await request("GET", url.toString(), {
    headers: creds ? { authorization: basicAuth(creds) } : {},
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${res.text}`);
  return res.json<{ token: string }>().token;
}

/**
 * A request as a registry client makes it: try, and on a Bearer 401 fetch a token
 * for the challenge and retry once. Returns the final response and the token used.
 */
export async function requestWithToken(
  method: string,
  url: string,
  creds: string | undefined,
  options: ReqOptions = {},
): Promise<{ res: Res; token: string | null }> {
  const first = await request(method, url, options);
  const challenge = parseChallenge(first.headers["www-authenticate"]);
  if (first.status !== 401 || challenge?.scheme.toLowerCase() !== "bearer")
    return { res: first, token: null };
  const token = await fetchToken(challenge, creds);
  const res = await request(method, url, {
    ...options,
    headers: { ...options.headers, authorization: `Bearer ${token}` },
  });
  return { res, token };
}
