/**
 * Percent-encoding as Go's net/url does it, the reading a distribution 2.x
 * registry gives every request: `%XX` (either hex case) is the byte XX, and a `%`
 * not followed by two hex digits is an error (Go's `url.unescape`, which makes the
 * registry's HTTP server answer 400 for a path, and drops the pair from a query).
 *
 * Strings here are Node's `req.url` strings: one char per byte (latin1), so a
 * decoded byte is one char too and nothing depends on UTF-8 validity.
 *
 * Pure, allocation-light; only called when a `%` is present.
 */

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * `s` with every `%XX` decoded once (and `+` read as a space when `plusAsSpace`,
 * as in a query), or null when an escape is broken.
 */
export function percentDecode(s: string, plusAsSpace: boolean): string | null {
  // `+` is a space only where it was written literally (a decoded `%2B` stays a plus).
  const text = plusAsSpace && s.includes("+") ? s.replaceAll("+", "%20") : s;
  let i = text.indexOf("%");
  if (i === -1) return text;
  let out = "";
  let from = 0;
  for (; i !== -1; i = text.indexOf("%", from)) {
    const hi = hexValue(text.charCodeAt(i + 1));
    const lo = hexValue(text.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return null;
    out += text.slice(from, i) + String.fromCharCode(hi * 16 + lo);
    from = i + 3;
  }
  return out + text.slice(from);
}

/**
 * Characters a path may carry literally: RFC 3986 `pchar` without `%`, and `/`.
 * Every other byte is written `%XX` (upper-case hex).
 */
const PATH_LITERAL = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

/**
 * The spelling of a decoded path that Go decodes back to exactly `path`, and that
 * the WHATWG URL parser (which http-proxy-3 runs on every target it forwards)
 * leaves unchanged, as long as `path` has no dot segment.
 */
export function encodePath(path: string): string {
  if (PATH_LITERAL.test(path)) return path;
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (PATH_LITERAL.test(ch)) {
      out += ch;
      continue;
    }
    // A char above 0xff never comes from the wire (Node reads the target as latin1): UTF-8.
    const code = path.charCodeAt(i);
    for (const byte of Buffer.from(ch, code > 0xff ? "utf8" : "latin1")) {
      out += `%${byte < 16 ? "0" : ""}${byte.toString(16).toUpperCase()}`;
    }
  }
  return out;
}
