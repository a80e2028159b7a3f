/**
 * Range requests on blobs (RFC 9110 §14, which the distribution spec points to for
 * blob GETs), pure: what a 2.8 upstream must be sent, and what its answers mean.
 *
 * 2.8 hands the Range header to Go's `http.ServeContent` as it came, after setting
 * `Content-Length` to the blob's size. So (measured on 2.8.2, 2,048-byte blob):
 * - an unsatisfiable or invalid range (`bytes=5000-10000`, `bytes=500-0`, `bytes=abc`)
 *   gets `416` that still says `Content-Length: 2048`, sends 14 or 33 bytes of text
 *   and closes the connection: clients read an unexpected EOF. A `Content-Range`
 *   naming the length (the unsatisfied-range form) comes only when the range failed
 *   to overlap;
 * - `bytes=-0` (a zero suffix, never satisfiable) gets `206` with no bytes and
 *   `Content-Range: bytes 2048-2047/2048`;
 * - a unit other than exactly `bytes` (`items=0-5`, `Bytes=0-5`) gets `416`, where an
 *   origin server MUST ignore a unit it does not understand (and units are
 *   case-insensitive);
 * - a HEAD with a Range gets `206` or `416`, where Range is defined for GET only.
 */

/**
 * The Range header to send upstream for a blob request carrying `value`:
 * undefined to drop it (HEAD and other methods, a unit other than bytes, no `=`),
 * else the value with its unit spelled as Go expects (`bytes=`).
 */
export function rangeToForward(method: string, value: string): string | undefined {
  if (method !== "GET") return undefined;
  if (value.startsWith("bytes=")) return value;
  const eq = value.indexOf("=");
  if (eq === -1 || value.slice(0, eq).trim().toLowerCase() !== "bytes") return undefined;
  return `bytes=${value.slice(eq + 1)}`;
}

const LENGTH_RE = /^\d{1,15}$/;
const CONTENT_RANGE_TOTAL_RE = /^bytes\s+(?:\*|\d{1,15}-\d{1,15})\/(\d{1,15})$/i;

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The blob's length as a 2.8 416 or 206 tells it: the total of its `Content-Range`
 * when there is one, else its `Content-Length` (on a 416, 2.8's is the blob's size).
 */
export function representationLength(
  headers: Record<string, string | string[] | undefined>,
): number | undefined {
  const range = single(headers["content-range"]);
  const m = range === undefined ? null : CONTENT_RANGE_TOTAL_RE.exec(range.trim());
  if (m) return Number(m[1]);
  const length = single(headers["content-length"]);
  return length !== undefined && LENGTH_RE.test(length) ? Number(length) : undefined;
}

/** A 206 that carries no byte (a zero suffix range): no partial content, so not satisfiable. */
export function isEmptyPartial(headers: Record<string, string | string[] | undefined>): boolean {
  return single(headers["content-length"]) === "0";
}
