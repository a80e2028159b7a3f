/**
 * Bearer tokens, kept until shortly before they expire: bounded (lru-cache, so a
 * proxy acting for many logins never grows without end), with an injectable
 * clock so expiry is testable without waiting. Keys are the auth flow's
 * (auth.ts): who asked, where, and for which scope.
 */
import { LRUCache, type Perf } from "lru-cache";
import { countBound } from "../util/count-bound.js";

/** The docker token spec's default lifetime when `expires_in` is missing. */
export const DEFAULT_TOKEN_SECONDS = 60;
/** Tokens are dropped this long before they expire, to survive clock skew and slow requests. */
const EARLY_MS = 5_000;
const MAX_TOKENS = 10_000;

export interface TokenCache {
  get(key: string): string | undefined;
  /** Stores a token under each of `keys`, valid for `expiresInSeconds` from now. */
  set(keys: readonly string[], token: string, expiresInSeconds: number | undefined): void;
  drop(key: string): void;
}

export function createTokenCache(options: { perf?: Perf; max?: number } = {}): TokenCache {
  const tokens = new LRUCache<string, string>({
    ...countBound(options.max ?? MAX_TOKENS),
    ttlAutopurge: false,
    // An injected clock is read at every lookup (lru-cache otherwise caches it for 1 ms).
    ttlResolution: options.perf ? 0 : 1,
    ...(options.perf ? { perf: options.perf } : {}),
  });
  return {
    get: (key) => tokens.get(key),
    set(keys, token, expiresInSeconds) {
      const seconds = expiresInSeconds && expiresInSeconds > 0 ? expiresInSeconds : DEFAULT_TOKEN_SECONDS;
      const lifetime = seconds * 1000;
      const ttl = Math.max(lifetime - EARLY_MS, lifetime / 2);
      for (const key of keys) tokens.set(key, token, { ttl });
    },
    drop(key) {
      tokens.delete(key);
    },
  };
}

/** Parses a token endpoint's answer (`token` or `access_token`, `expires_in`). */
export function parseTokenResponse(body: string): { token: string; expiresIn: number | undefined } {
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    doc = JSON.parse(body) as typeof doc;
  } catch {
    throw new Error("token endpoint answered something that is not JSON");
  }
  const token = typeof doc.token === "string" && doc.token ? doc.token : doc.access_token;
  if (typeof token !== "string" || token === "") throw new Error("token endpoint answered no token");
  const expiresIn = typeof doc.expires_in === "number" ? doc.expires_in : undefined;
  return { token, expiresIn };
}
