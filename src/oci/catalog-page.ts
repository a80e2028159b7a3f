/**
 * `GET /v2/_catalog` as distribution 2.8 answers it, measured on 2.8.2
 * (docs/endpoints.md "Catalog"), for the proxy's filtered catalog to answer in
 * the same form:
 *
 * - order: repository names compared with `/` sorting before every other
 *   character (`a`, `a/b`, `a/b/c`, `a-b`, `a.b`, `a_b`, `ab`), the order of the
 *   registry's storage walk;
 * - `last` is exclusive and need not name a repository; `n` absent, negative or
 *   not a number is the default page of 100, above the registry's maximum (1000 by
 *   default) `400 PAGINATION_NUMBER_INVALID`, `0` an empty page;
 * - `Link: </v2/_catalog?last=<name>&n=<n>>; rel="next"`, relative, `last` first
 *   and escaped as Go's `url.QueryEscape` (`/` as `%2F`), other query parameters
 *   dropped, sent only when more repositories follow.
 *
 * Pure: no I/O.
 */

/** Compares repository names in the registry's catalog order (`/` before everything). */
export function compareRepositories(a: string, b: string): number {
  const x = a.replaceAll("/", "\u0000");
  const y = b.replaceAll("/", "\u0000");
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, every other byte `%XX`. */
export function goQueryEscape(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The catalog's next-page `Link` value, as the registry writes it. */
export function catalogLink(last: string, n: number): string {
  return `</v2/_catalog?last=${goQueryEscape(last)}&n=${n}>; rel="next"`;
}

/**
 * The page size a registry's next-page Link carries (`n=` in its query), or null
 * when it names none (a registry that paginates differently).
 */
export function linkPageSize(linkTarget: string): number | null {
  const query = linkTarget.split("?", 2)[1] ?? "";
  const n = new URLSearchParams(query).get("n");
  if (n === null || !/^\d{1,9}$/.test(n)) return null;
  const value = Number(n);
  return value > 0 ? value : null;
}

/** A client's catalog query asking the registry for more names: what the registry is sent and the client's `n`. */
export interface WidenedQuery {
  /** The client's query with only its `n` raised. */
  query: string;
  /** The client's page size. */
  n: number;
  /** The page size asked of the registry. */
  upstreamN: number;
}

/**
 * The client's query with its `n` raised to `min(n × factor, max)`, so that one
 * registry page usually fills a page with names left out; null (send the query as
 * it came) unless the query is plain: exactly one `n`, written as a positive
 * decimal below `max`, no key spelled with an escape, no `;`. Everything else in
 * the query is kept byte for byte, so the registry reads `last` as the client wrote it.
 */
export function widenedCatalogQuery(query: string, factor: number, max: number): WidenedQuery | null {
  if (query.includes(";")) return null;
  const parts = query.split("&");
  const keys = parts.map((p) => p.split("=", 1)[0]!);
  if (keys.some((k) => /[%+]/.test(k))) return null;
  const at = keys.indexOf("n");
  if (at === -1 || keys.lastIndexOf("n") !== at) return null;
  const raw = parts[at]!.slice(2);
  if (!/^[1-9]\d{0,5}$/.test(raw)) return null;
  const n = Number(raw);
  const upstreamN = Math.min(n * factor, max);
  if (upstreamN <= n) return null;
  return { query: parts.map((p, i) => (i === at ? `n=${upstreamN}` : p)).join("&"), n, upstreamN };
}
