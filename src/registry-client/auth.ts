/**
 * The one auth flow, and the one place that fetches registry tokens.
 *
 * A call goes out with whatever is already known to work for its credentials
 * and origin: Basic once a Basic challenge was seen there, or a cached Bearer
 * token for the scope the call needs. When the registry answers 401, its
 * `WWW-Authenticate` decides: for Bearer, a token for the challenge's scope is
 * fetched from its realm (with the login as Basic, or anonymously), cached until
 * shortly before it expires, and the call is retried once; for Basic, the login
 * is sent. Concurrent calls share one token request per scope.
 *
 * Everything is keyed by who asks (credentials.ts `identityOf`), so one client
 * can act for many logins (service credentials, the CLI's, UI visitors') and a
 * token is only ever reused for the login it was fetched with.
 */
import { LRUCache } from "lru-cache";
import { joinedHeader } from "../http/headers.js";
import { type Challenge, parseChallenges } from "../oci/auth-challenge.js";
import { countBound } from "../util/count-bound.js";
import { basicAuthorization, type Credentials, identityOf } from "./credentials.js";
import { errorText } from "./failure.js";
import { type HttpResponse, UpstreamError } from "./http.js";
import { parseTokenResponse, type TokenCache } from "./token-cache.js";

/** Token answers are small; a larger one is refused. */
const MAX_TOKEN_BYTES = 1024 * 1024;

/** The 401 could not be answered: the token realm refused, failed or answered nonsense. */
export class TokenError extends Error {
  override readonly name = "TokenError";
  constructor(
    message: string,
    /** The registry's 401 that asked for the token. */
    readonly challenged: HttpResponse,
  ) {
    super(message);
  }
}

/** One GET to a token realm (the client's, with its redirects and deadlines). */
export type RealmFetch = (
  url: URL,
  headers: Record<string, string>,
  maxBodyBytes: number,
) => Promise<HttpResponse>;

/** Credentials whose challenges the client answers. */
export type Answering = Exclude<Credentials, { kind: "caller" }>;

export interface AuthFlow {
  /** The Authorization known to work at `origin` for `scope` with `creds`, or undefined. */
  known(creds: Answering, origin: string, scope: string): string | undefined;
  /**
   * After `challenged` (a 401): the Authorization to retry with, or undefined when
   * retrying cannot help. Throws a TokenError when a token was needed and not had.
   */
  answer(
    creds: Answering,
    origin: string,
    scope: string,
    challenged: HttpResponse,
    sent: string | undefined,
  ): Promise<string | undefined>;
}

interface Token {
  token: string;
  expiresIn: number | undefined;
}

export function createAuthFlow(o: { tokens: TokenCache; fetchRealm: RealmFetch }): AuthFlow {
  const { tokens } = o;
  /** `who origin` pairs where Basic was asked for (bounded like the tokens). */
  const basicAt = new LRUCache<string, true>(countBound(10_000));
  const pending = new Map<string, Promise<Token>>();

  /** A token for the challenge's scope: cached, being fetched, or fetched now. */
  async function bearer(
    creds: Answering,
    hint: string,
    challenge: Challenge,
    challenged: HttpResponse,
    sent: string | undefined,
  ): Promise<string> {
    const scope = challenge.params["scope"] ?? "";
    const key = `${identityOf(creds)} ${challenge.params["realm"]} ${challenge.params["service"] ?? ""} ${scope}`;
    const cached = tokens.get(key);
    if (cached && `Bearer ${cached}` !== sent) {
      tokens.set([hint], cached, undefined);
      return `Bearer ${cached}`;
    }
    tokens.drop(key);
    tokens.drop(hint);
    let request = pending.get(key);
    if (!request) {
      request = fetchToken(o.fetchRealm, creds, challenge, scope, challenged).finally(() =>
        pending.delete(key),
      );
      pending.set(key, request);
    }
    const { token, expiresIn } = await request;
    tokens.set([key, hint], token, expiresIn);
    return `Bearer ${token}`;
  }

  return {
    known(creds, origin, scope) {
      const who = identityOf(creds);
      if (creds.kind === "login" && basicAt.has(`${who} ${origin}`)) return basicAuthorization(creds);
      const token = tokens.get(`${who} ${origin} ${scope}`);
      return token ? `Bearer ${token}` : undefined;
    },
    async answer(creds, origin, scope, challenged, sent) {
      const who = identityOf(creds);
      const challenges = parseChallenges(joinedHeader(challenged.headers["www-authenticate"]) ?? "");
      const found = challenges.find((c) => c.scheme === "bearer" && c.params["realm"]);
      if (found) {
        // The challenge names the scope it wants; without one, the scope the call needs.
        const asked =
          found.params["scope"] === undefined ? { ...found, params: { ...found.params, scope } } : found;
        return bearer(creds, `${who} ${origin} ${scope}`, asked, challenged, sent);
      }
      const basicKey = `${who} ${origin}`;
      if (creds.kind !== "login" || !challenges.some((c) => c.scheme === "basic") || basicAt.has(basicKey)) {
        return undefined;
      }
      basicAt.set(basicKey, true);
      return basicAuthorization(creds);
    },
  };
}

async function fetchToken(
  fetchRealm: RealmFetch,
  creds: Answering,
  challenge: Challenge,
  scope: string,
  challenged: HttpResponse,
): Promise<Token> {
  let realm: URL;
  try {
    realm = new URL(challenge.params["realm"]!);
  } catch {
    throw new TokenError(`the challenge's realm is not a URL: ${challenge.params["realm"]}`, challenged);
  }
  if (challenge.params["service"]) realm.searchParams.set("service", challenge.params["service"]);
  for (const s of scope.split(" ").filter(Boolean)) realm.searchParams.append("scope", s);
  const where = `token request to ${realm.origin}${realm.pathname}`;
  const headers: Record<string, string> = { accept: "application/json" };
  if (creds.kind === "login") headers["authorization"] = basicAuthorization(creds);
  let reply: HttpResponse;
  try {
    reply = await fetchRealm(realm, headers, MAX_TOKEN_BYTES);
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    throw new TokenError(`${where}: ${err.reason}`, challenged);
  }
  if (reply.status !== 200) {
    const { text } = errorText(reply.body);
    const hint = reply.status === 401 ? " (check the credentials)" : "";
    throw new TokenError(`${where}: ${reply.status}${text ? ` ${text}` : ""}${hint}`, challenged);
  }
  try {
    return parseTokenResponse(reply.body.toString());
  } catch (err) {
    throw new TokenError(`token request to ${realm.origin}: ${(err as Error).message}`, challenged);
  }
}
