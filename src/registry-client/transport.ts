/**
 * One call to the registry as the client makes it: below the registry's URL
 * (its path prefix first), over one undici pool for the registry's origin (its
 * connection limit and TLS settings) and pools made on first use for other
 * origins (token realms, redirect targets); with the credentials of the call
 * (auth.ts answers the challenges); redirects of GET and HEAD followed, the
 * credentials dropped when they leave the origin. The path is sent as it was
 * given (never normalised), so a relayed request reaches the registry as the
 * client spelled it.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { type Answering, createAuthFlow, TokenError } from "./auth.js";
import type { Credentials } from "./credentials.js";
import {
  createHttpClient,
  createHttpClients,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  UpstreamError,
} from "./http.js";
import { createTokenCache } from "./token-cache.js";

const MAX_REDIRECTS = 5;

export interface RegistryClientOptions {
  /** The registry: scheme, host and an optional path prefix before `/v2/`. */
  url: URL | string;
  /** Lowercase origins the registry may name in `Link` headers besides its own (its public names). */
  origins?: ReadonlySet<string>;
  /** Default deadline of a call (connect, answer and body). */
  timeoutMs: number;
  /** Most sockets open to the registry at once; further calls queue. Default: no limit. */
  connections?: number;
  /** For an https registry: CA bundle, client certificate and key (not sent to other origins). */
  tls?: HttpClientOptions["tls"];
  /** Sent as User-Agent when the call names none. */
  userAgent?: string;
  /** Every transport failure of a call (an abort by the caller excepted), for metrics. */
  onTransportError?(err: UpstreamError): void;
}

export interface RegistryRequest extends HttpRequest {
  /** Path and query below the registry's URL, starting with `/v2/` (or any path of the host). */
  path: string;
  /** The token scope the call needs (`repository:<name>:pull`), when the path does not say it. */
  scope?: string;
}

export interface Transport {
  /** The registry's URL without its trailing slash. */
  readonly url: URL;
  /** The path prefix before `/v2/` ("" for none). */
  readonly prefix: string;
  /** Lowercase origins that are the registry itself (its own and its public names). */
  readonly origins: ReadonlySet<string>;
  /** The answer, whatever its status; throws UpstreamError (no answer) or TokenError (a 401 not answerable). */
  send(req: RegistryRequest, creds: Credentials): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** The token scope of a registry path: `repository:<name>:<actions>`, `registry:catalog:*`, or "". */
export function scopeOf(method: string, path: string): string {
  const p = path.split("?", 1)[0]!;
  if (p === "/v2/_catalog") return "registry:catalog:*";
  const m = /^\/v2\/(.+)\/(?:manifests|blobs|tags|referrers)\//.exec(p);
  if (!m) return "";
  const actions =
    method === "GET" || method === "HEAD" ? "pull" : method === "DELETE" ? "delete" : "pull,push";
  return `repository:${m[1]}:${actions}`;
}

/**
 * The path and query (below the registry's URL) of a URL the registry named (a
 * Link, a Location), when it is on the registry itself; null otherwise.
 */
export function ownPath(
  registry: Pick<Transport, "url" | "prefix" | "origins">,
  named: string,
): string | null {
  let url: URL;
  try {
    url = new URL(named, registry.url);
  } catch {
    return null;
  }
  if (!registry.origins.has(url.origin.toLowerCase())) return null;
  let path = url.pathname;
  if (registry.prefix && path.startsWith(`${registry.prefix}/`)) path = path.slice(registry.prefix.length);
  return path + url.search;
}

export function createTransport(o: RegistryClientOptions): Transport {
  const url = new URL(o.url);
  const prefix = url.pathname.replace(/\/+$/, "");
  const origin = url.origin;
  const home = createHttpClient(origin, { timeoutMs: o.timeoutMs, connections: o.connections, tls: o.tls });
  const elsewhere = createHttpClients({ timeoutMs: o.timeoutMs });
  const clientFor = (at: string): HttpClient => (at === origin ? home : elsewhere.for(new URL(at)));

  /** One request and the redirects it is sent (GET and HEAD only, when `follow`). */
  async function exchange(
    at: string,
    path: string,
    req: HttpRequest,
    headers: OutgoingHttpHeaders,
    follow: boolean,
  ): Promise<HttpResponse> {
    const h: OutgoingHttpHeaders = { ...headers };
    if (o.userAgent !== undefined && h["user-agent"] === undefined) h["user-agent"] = o.userAgent;
    const redirects = follow && (req.method === "GET" || req.method === "HEAD") ? MAX_REDIRECTS : 0;
    for (let hop = 0; ; hop++) {
      const res = await clientFor(at).request({ ...req, path, headers: h });
      const location = res.headers.location;
      if (hop >= redirects || res.status < 300 || res.status > 399 || typeof location !== "string")
        return res;
      const next = new URL(location, at + path);
      if (next.origin !== at) delete h["authorization"];
      at = next.origin;
      path = next.pathname + next.search;
    }
  }

  const auth = createAuthFlow({
    tokens: createTokenCache(),
    fetchRealm: (realm, headers, maxBodyBytes) =>
      exchange(
        realm.origin,
        realm.pathname + realm.search,
        { method: "GET", path: "", maxBodyBytes },
        headers,
        true,
      ),
  });

  /** With answering credentials: what is known to work first, then the challenge's answer once. */
  async function answered(req: RegistryRequest, creds: Answering): Promise<HttpResponse> {
    const scope = req.scope ?? scopeOf(req.method, req.path);
    const call = (authorization: string | undefined) => {
      const headers: OutgoingHttpHeaders = { ...req.headers };
      if (authorization === undefined) delete headers["authorization"];
      else headers["authorization"] = authorization;
      return exchange(origin, prefix + req.path, req, headers, true);
    };
    const sent = auth.known(creds, origin, scope);
    const first = await call(sent);
    if (first.status !== 401) return first;
    const retry = await auth.answer(creds, origin, scope, first, sent);
    return retry === undefined || retry === sent ? first : call(retry);
  }

  return {
    url: new URL(origin + prefix),
    prefix,
    origins: new Set([origin.toLowerCase(), ...(o.origins ?? [])]),
    async send(req, creds) {
      try {
        if (creds.kind === "caller") {
          return await exchange(origin, prefix + req.path, req, { ...creds.headers, ...req.headers }, false);
        }
        return await answered(req, creds);
      } catch (err) {
        if (err instanceof UpstreamError && err.kind !== "aborted") o.onTransportError?.(err);
        throw err;
      }
    },
    async close() {
      await Promise.all([home.close(), elsewhere.close()]);
    },
  };
}

export { TokenError };
