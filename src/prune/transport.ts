/**
 * HTTP to the registry with its auth: a request goes out with whatever is
 * already known to work (Basic once a Basic challenge was seen; a cached Bearer
 * token for the request's scope). On 401 it reads `WWW-Authenticate`: for Bearer it
 * fetches a token from the challenge's realm for the challenge's scope (with the
 * credentials, or anonymously), caches it until it expires, and retries once.
 * Bodies are capped; redirects are followed for GET/HEAD only, dropping the
 * credentials when they leave the registry's origin.
 */
import { type Challenge, parseChallenges } from "../oci/auth-challenge.js";
import {
  createHttpClients,
  type HttpClients,
  type HttpResponse,
  UpstreamError,
} from "../registry-client/http.js";
import type { Credentials } from "./credentials.js";
import { parseTokenResponse, TokenCache } from "./token-cache.js";

const MAX_REDIRECTS = 5;
export const MAX_JSON_BYTES = 8 * 1024 * 1024;

export interface TransportOptions {
  credentials: Credentials | null;
  timeoutMs?: number;
  now?: () => number;
  userAgent?: string;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** An HTTP answer the caller did not expect, with the registry's error code when it sent one. */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface Sent {
  method: string;
  accept?: string;
  /** The scope the request needs, for a token fetched before any challenge. */
  scope: string;
  maxBytes?: number;
  /** Further request headers (gc's window lease). */
  headers?: Readonly<Record<string, string>>;
}

/** Parses `{"errors":[{code,message}]}` into `CODE: message`, when the body is that. */
export function describeErrorBody(body: Buffer): { code?: string; text?: string } {
  try {
    const doc = JSON.parse(body.toString()) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const e = doc.errors?.[0];
    if (e && typeof e.code === "string") {
      return { code: e.code, text: typeof e.message === "string" ? `${e.code}: ${e.message}` : e.code };
    }
  } catch {}
  const text = body.toString().trim().slice(0, 120);
  return text ? { text } : {};
}

export function httpError(what: string, reply: Reply): RegistryError {
  const { code, text } = describeErrorBody(reply.body);
  const hint = reply.status === 401 ? " (check the credentials)" : "";
  return new RegistryError(`${what}: ${reply.status}${text ? ` ${text}` : ""}${hint}`, reply.status, code);
}

export class AuthTransport {
  private readonly tokens: TokenCache;
  private readonly pendingTokens = new Map<string, Promise<{ token: string; expiresIn?: number }>>();
  private basic = false;
  private readonly http: HttpClients;
  /** How many token requests were made (tests check the cache with it). */
  tokenFetches = 0;

  constructor(private readonly o: TransportOptions) {
    this.tokens = new TokenCache(o.now);
    this.http = createHttpClients({ timeoutMs: o.timeoutMs ?? 30_000 });
  }

  /** Sends one request, answering auth challenges; any status is returned. */
  async send(url: URL, s: Sent): Promise<Reply> {
    const sent = this.knownAuth(s.scope);
    let reply = await this.fetchOnce(url, s, sent);
    if (reply.status !== 401) return reply;
    const auth = await this.answerChallenge(reply, s.scope, sent);
    if (auth === undefined || auth === sent) return reply;
    reply = await this.fetchOnce(url, s, auth);
    return reply;
  }

  private knownAuth(scope: string): string | undefined {
    if (this.basic) return this.basicAuth();
    const token = this.tokens.get(scope);
    return token ? `Bearer ${token}` : undefined;
  }

  private basicAuth(): string | undefined {
    const c = this.o.credentials;
    return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}` : undefined;
  }

  /** The Authorization to retry with, or undefined when retrying cannot help. */
  private async answerChallenge(
    reply: Reply,
    scopeHint: string,
    sent: string | undefined,
  ): Promise<string | undefined> {
    const challenges = parseChallenges(reply.headers.get("www-authenticate") ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params["realm"]);
    if (bearer) {
      const scope = bearer.params["scope"] ?? scopeHint;
      const key = tokenKey(bearer, scope);
      const cached = this.tokens.get(key);
      if (cached && `Bearer ${cached}` !== sent) {
        this.tokens.set([scopeHint], cached, undefined);
        return `Bearer ${cached}`;
      }
      this.tokens.drop(key);
      this.tokens.drop(scopeHint);
      // Requests running in parallel share one token request per scope.
      let pending = this.pendingTokens.get(key);
      if (!pending) {
        pending = this.fetchToken(bearer, scope).finally(() => this.pendingTokens.delete(key));
        this.pendingTokens.set(key, pending);
      }
      const { token, expiresIn } = await pending;
      this.tokens.set([key, scopeHint], token, expiresIn);
      return `Bearer ${token}`;
    }
    if (challenges.some((c) => c.scheme === "basic") && !this.basic) {
      const auth = this.basicAuth();
      if (auth === undefined) return undefined;
      this.basic = true;
      return auth;
    }
    return undefined;
  }

  private async fetchToken(
    challenge: Challenge,
    scope: string,
  ): Promise<{ token: string; expiresIn?: number }> {
    const realm = new URL(challenge.params["realm"]!);
    if (challenge.params["service"]) realm.searchParams.set("service", challenge.params["service"]);
    for (const sc of scope.split(" ").filter(Boolean)) realm.searchParams.append("scope", sc);
    this.tokenFetches++;
    const basic = this.basicAuth();
    const headers: Record<string, string> = { accept: "application/json" };
    if (basic) headers["authorization"] = basic;
    const reply = await this.rawFetch(realm, "GET", headers, MAX_JSON_BYTES);
    if (reply.status !== 200) throw httpError(`token request to ${realm.origin}${realm.pathname}`, reply);
    try {
      return parseTokenResponse(reply.body.toString());
    } catch (err) {
      throw new RegistryError(`token request to ${realm.origin}: ${(err as Error).message}`, 200, undefined);
    }
  }

  private fetchOnce(url: URL, s: Sent, authorization: string | undefined): Promise<Reply> {
    const headers: Record<string, string> = { ...s.headers };
    if (s.accept) headers["accept"] = s.accept;
    if (authorization) headers["authorization"] = authorization;
    return this.rawFetch(url, s.method, headers, s.maxBytes ?? MAX_JSON_BYTES);
  }

  /** One call with a timeout and a body cap; redirects followed, dropping credentials across origins. */
  private async rawFetch(
    url: URL,
    method: string,
    headers: Record<string, string>,
    maxBytes: number,
  ): Promise<Reply> {
    let target = url;
    const h: Record<string, string> = {
      "user-agent": this.o.userAgent ?? "registry-compat-proxy-prune",
      ...headers,
    };
    for (let hop = 0; ; hop++) {
      let res: HttpResponse;
      try {
        res = await this.http.for(target).request({
          method,
          path: target.pathname + target.search,
          headers: h,
          timeoutMs: this.o.timeoutMs ?? 30_000,
          maxBodyBytes: maxBytes,
        });
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        const where = `${target.origin}${target.pathname}`;
        if (err.kind === "too-large")
          throw new RegistryError(
            `${target.pathname}: body larger than ${maxBytes} bytes`,
            undefined,
            undefined,
          );
        throw new RegistryError(`${method} ${where}: ${err.reason}`, undefined, undefined);
      }
      const headersOut = webHeaders(res.headers);
      const location = headersOut.get("location");
      if (res.status >= 300 && res.status < 400 && location && (method === "GET" || method === "HEAD")) {
        if (hop >= MAX_REDIRECTS)
          throw new RegistryError(`${method} ${url.pathname}: too many redirects`, res.status, undefined);
        const next = new URL(location, target);
        if (next.origin !== target.origin) delete h["authorization"];
        target = next;
        continue;
      }
      return { status: res.status, headers: headersOut, body: res.body };
    }
  }

  /** Closes the connections (to the registry, token realms and redirect targets). */
  close(): Promise<void> {
    return this.http.close();
  }
}

function tokenKey(c: Challenge, scope: string): string {
  return `${c.params["realm"]} ${c.params["service"] ?? ""} ${scope}`;
}

/** undici's header record as fetch's Headers (what the prune code reads). */
function webHeaders(record: HttpResponse["headers"]): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(record)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return headers;
}
