/**
 * The one canonical form of a request path, decided once before any rule runs:
 * the path as a distribution 2.x registry routes it. Go's HTTP server decodes the
 * target's path once (`URL.Path`) and the registry's router matches that, so
 * `/%762/…` is `/v2/…`, `…/%6danifests/…` is `…/manifests/…` and `lat%65st` is the
 * tag `latest` (registry-2.8 notes §13). Every rule of the proxy reads this form.
 *
 * canonicalPath refuses what it will not map, each a 400 for the client:
 * - a `%` without two hex digits after it (Go answers 400 too);
 * - `%2e`, `%2f`, `%5c`, `%00` (encoded dot, separator, backslash, NUL), a raw
 *   backslash or NUL: the segments would differ between the registry, nginx and the URL
 *   parsers in between;
 * - a `#`: no request target has a fragment, and the WHATWG URL parser that
 *   http-proxy-3 runs on forwarded targets would cut the path there (the registry
 *   would not);
 * - a `%` still present after decoding (`%25`: double encoding, which anything
 *   decoding once more would read as another route);
 * - control characters, raw or decoded.
 *
 * Pure. The common path (no `%`, `\`, `#` or control character) costs one regex
 * test and no allocation.
 */
import { percentDecode } from "./percent-encoding.js";

export interface PathRefusal {
  readonly refused: string;
}

/** C0 controls and DEL, as a character class body (built from a string: no control character in the source). */
const CONTROLS = "\\u0000-\\u001f\\u007f";
const NEEDS_WORK = new RegExp(`[%\\\\#${CONTROLS}]`);
const ENCODED_SEPARATOR = /%(?:2e|2f|5c|00)|[\\\0]/i;
const AFTER_DECODING = new RegExp(`[%${CONTROLS}]`);

export const REFUSED = {
  fragment: { refused: "request target has a fragment (#)" },
  separator: { refused: "path contains encoded separators, traversal or NUL" },
  escape: { refused: "path has a % not followed by two hex digits" },
  double: { refused: "path is percent-encoded twice (%25)" },
  control: { refused: "path contains control characters" },
} as const satisfies Record<string, PathRefusal>;

/** The path decoded once, as the registry reads it, or why the proxy refuses it. */
export function canonicalPath(raw: string): string | PathRefusal {
  if (!NEEDS_WORK.test(raw)) return raw;
  if (raw.includes("#")) return REFUSED.fragment;
  if (ENCODED_SEPARATOR.test(raw)) return REFUSED.separator;
  const decoded = percentDecode(raw, false);
  if (decoded === null) return REFUSED.escape;
  const bad = AFTER_DECODING.exec(decoded);
  if (bad !== null) return bad[0] === "%" ? REFUSED.double : REFUSED.control;
  return decoded;
}
