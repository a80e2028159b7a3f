/**
 * Tags list pagination, done by the proxy because a 2.8 upstream ignores `n` and
 * `last` and returns its tags unsorted (in directory order).
 *
 * Order: byte-wise ("ASCIIbetical"), the order of Go's `sort.Strings`, which the
 * distribution-spec allows and distribution 3 uses: digits before upper case,
 * upper case before `_`, `_` before lower case (`"1" < "A" < "Z" < "_" < "a"`).
 * Tags are ASCII by grammar, so comparing UTF-16 code units is the same as
 * comparing bytes; a non-ASCII `last` sorts after every tag either way.
 *
 * `last` is exclusive (the page starts strictly after it) and need not be a tag
 * that exists. A page has exactly `n` tags unless fewer remain, and a `Link` to
 * the next page only when tags remain after it. `n=0` is an empty page, no Link.
 *
 * Pure: no I/O. An invalid query throws OciError PAGINATION_NUMBER_INVALID.
 */
import { OciError } from "./errors.js";
import { isQueryProblem, parseQuery, type QueryProblem, singleValue } from "./query.js";

export type ListVariant = "list" | "_list";

export interface PageQuery {
  /** Page size; null: everything (what clients without pagination expect). */
  n: number | null;
  /** Exclusive lower bound; null: from the first tag. */
  last: string | null;
}

export interface Page {
  tags: string[];
  /** The `last` for the next page, or null when nothing remains after this page. */
  next: string | null;
}

const INTEGER_RE = /^-?\d+$/;

function pageQueryError(problem: QueryProblem): OciError {
  return new OciError(
    "PAGINATION_NUMBER_INVALID",
    `invalid pagination query: ${problem.problem}`,
    problem.key === null ? undefined : { parameter: problem.key },
  );
}

/**
 * Reads `n` and `last` from the raw query string, strictly (oci/query.ts): a
 * broken escape or a `;` anywhere, and an `n` or `last` that is repeated or empty,
 * are 400 PAGINATION_NUMBER_INVALID, never guessed at. `n` must be a decimal
 * integer from 0 to `maxPageSize`.
 */
export function parsePageQuery(query: string, maxPageSize: number): PageQuery {
  const params = parseQuery(query);
  if (isQueryProblem(params)) throw pageQueryError(params);
  const rawN = singleValue(params, "n");
  if (isQueryProblem(rawN)) throw pageQueryError(rawN);
  const rawLast = singleValue(params, "last");
  if (isQueryProblem(rawLast)) throw pageQueryError(rawLast);
  const last = rawLast ?? null;
  if (rawN === undefined) return { n: null, last };
  const value = INTEGER_RE.test(rawN) ? Number(rawN) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 0 || value > maxPageSize) {
    throw new OciError(
      "PAGINATION_NUMBER_INVALID",
      `invalid number of results requested: n must be an integer from 0 to ${maxPageSize}`,
      { n: Number.isSafeInteger(value) ? value : rawN },
    );
  }
  return { n: value === 0 ? 0 : value, last };
}

/** Byte-wise comparison (Go's `sort.Strings`). */
export function compareTags(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Whether `tags` is already in compareTags order without duplicates (strictly
 * increasing). O(n), and it stops at the first pair out of order: a distribution 3
 * upstream sends sorted lists, 2.8 sends directory order (unsorted), so the check
 * costs nothing where the sort is needed.
 */
export function isSortedUnique(tags: readonly string[]): boolean {
  for (let i = 1; i < tags.length; i++) if (!(tags[i - 1]! < tags[i]!)) return false;
  return true;
}

/**
 * A new sorted array without duplicates. The default sort orders strings by UTF-16
 * code units, the same order as compareTags, without a JS call per comparison. A
 * list already in order is copied, not sorted.
 */
export function sortTags(tags: readonly string[]): string[] {
  if (isSortedUnique(tags)) return tags.slice();
  const sorted = [...tags].sort();
  let w = 0;
  for (let r = 0; r < sorted.length; r++) {
    if (w === 0 || sorted[r] !== sorted[w - 1]) sorted[w++] = sorted[r]!;
  }
  sorted.length = w;
  return sorted;
}

/** Index of the first tag strictly greater than `last` in a sorted array. */
export function indexAfter(sorted: readonly string[], last: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareTags(sorted[mid]!, last) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One page of an already sorted, duplicate-free tag list. */
export function paginate(sorted: readonly string[], query: PageQuery): Page {
  const start = query.last === null ? 0 : indexAfter(sorted, query.last);
  if (query.n === null) return { tags: sorted.slice(start), next: null };
  if (query.n === 0) return { tags: [], next: null };
  const end = Math.min(start + query.n, sorted.length);
  const tags = sorted.slice(start, end);
  return { tags, next: end < sorted.length ? (tags[tags.length - 1] ?? null) : null };
}

/** The relative URL of the next page, on the URL variant the client used. */
export function nextPageUrl(name: string, variant: ListVariant, n: number, last: string): string {
  return `/v2/${name}/tags/${variant}?n=${n}&last=${encodeURIComponent(last)}`;
}

/** The `Link` header value (RFC 8288) for the next page. */
export function nextPageLink(name: string, variant: ListVariant, n: number, last: string): string {
  return `<${nextPageUrl(name, variant, n, last)}>; rel="next"`;
}

/**
 * The target of a `Link: <...>; rel="next"` header value, or null when there is
 * none. Used to follow an upstream that paginates itself.
 */
export function parseNextLink(value: string | undefined): string | null {
  if (!value) return null;
  for (const part of value.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m) continue;
    const rels = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(m[2]!);
    const rel = rels ? (rels[1] ?? rels[2] ?? "") : "";
    if (rel.toLowerCase().split(/\s+/).includes("next")) return m[1]!;
  }
  return null;
}
