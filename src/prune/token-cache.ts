/**
 * Bearer tokens by scope, kept until shortly before they expire. The clock is
 * injectable so expiry can be tested without waiting.
 */

export interface CachedToken {
  token: string;
  expiresAt: number;
}

/** The docker token spec's default lifetime when `expires_in` is missing. */
export const DEFAULT_TOKEN_SECONDS = 60;
/** Tokens are dropped this long before they expire, to survive clock skew and slow requests. */
const EARLY_MS = 5_000;

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  constructor(private readonly now: () => number = Date.now) {}

  get(key: string): string | undefined {
    const t = this.tokens.get(key);
    if (!t) return undefined;
    if (t.expiresAt <= this.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return t.token;
  }

  /** Stores a token for `keys`, valid for `expiresInSeconds` from now. */
  set(keys: readonly string[], token: string, expiresInSeconds: number | undefined): void {
    const seconds = expiresInSeconds && expiresInSeconds > 0 ? expiresInSeconds : DEFAULT_TOKEN_SECONDS;
    const lifetime = seconds * 1000;
    const expiresAt = this.now() + Math.max(lifetime - EARLY_MS, lifetime / 2);
    for (const k of keys) this.tokens.set(k, { token, expiresAt });
  }

  drop(key: string): void {
    this.tokens.delete(key);
  }
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
