/**
 * Rewriting absolute URLs in upstream response headers that still name the
 * upstream (its own origin, or the origins it was told to use such as its
 * `http.host`) so that they name the proxy. URLs to anywhere else (a storage
 * redirect to S3, a token realm) are left exactly as they are.
 *
 * The `Location` of an API answer (201 Created, the 202s of uploads, 204 upload
 * status) always names an API resource of the registry itself: a `/v2/...` URL
 * there names the proxy whatever origin the registry wrote (its `http.host`
 * included), with no configuration. Redirects (3xx) may point at blob storage
 * and are rewritten only from the known origins.
 */

export function originOf(url: string): string | undefined {
  const m = /^(https?:\/\/[^/?#]+)/i.exec(url);
  return m ? m[1]!.toLowerCase() : undefined;
}

/** Rewrites one URL when its origin is in `from`; returns it unchanged otherwise. */
export function rewriteUrl(url: string, from: ReadonlySet<string>, to: string): string {
  const origin = originOf(url);
  if (origin === undefined || !from.has(origin)) return url;
  return to + url.slice(origin.length);
}

/** Rewrites each `<url>` of a `Link` header value. */
export function rewriteLink(value: string, from: ReadonlySet<string>, to: string): string {
  if (!value.includes("://")) return value;
  return value.replace(/<([^>]*)>/g, (_m, url: string) => `<${rewriteUrl(url, from, to)}>`);
}

/** Normalises origins (lowercase, default ports dropped) for the rewrite set. */
export function originSet(origins: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const o of origins) {
    const u = new URL(o);
    const lower = `${u.protocol}//${u.host}`.toLowerCase();
    out.add(lower);
    // Also the explicit-default-port spelling, which some registries emit.
    if (u.port === "") out.add(`${lower}:${u.protocol === "https:" ? 443 : 80}`);
  }
  return out;
}

/** Statuses whose `Location` is an API URL of the registry itself, never a storage redirect. */
const API_LOCATION_STATUSES: ReadonlySet<number> = new Set([201, 202, 204]);

/** Rewrites a response's `Location` (see the top of this file). */
export function rewriteLocation(url: string, status: number, from: ReadonlySet<string>, to: string): string {
  if (API_LOCATION_STATUSES.has(status)) {
    const origin = originOf(url);
    if (origin !== undefined && url.startsWith("/v2/", origin.length)) return to + url.slice(origin.length);
  }
  return rewriteUrl(url, from, to);
}
