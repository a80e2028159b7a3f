/**
 * The answer to `GET /v2/_catalog` through the proxy: the registry's catalog
 * with the repositories that have no tags left out (catalog.listEmpty false),
 * in the registry's form (oci/catalog-page.ts): the same order, `n`, `last` and
 * `Link`. Every call goes upstream with the caller's own credentials.
 *
 * The client's query goes to the registry as it came, so the registry decides
 * what it means (its default page, its limit on `n`, its errors, which are
 * relayed unchanged, as are 401s with their challenge), except that a plain `n`
 * is doubled (up to 1000, 2.8's default limit) so that one registry page usually
 * fills the client's page: the registry walks its storage from the start for
 * every page, the cost of a page is that walk. A registry whose limit is lower
 * answers 400 to that, and the query is sent again as it came. The page size is
 * the client's `n`, or the one the registry's Link names; while names are left
 * out and more follow, the registry's next pages are read until the page is full
 * (catalog-fill.ts decides), and the names are checked `CHECKS_AT_ONCE` at a time
 * (catalog-verdicts.ts).
 */
import { catalogLink, linkPageSize, widenedCatalogQuery } from "../oci/catalog-page.js";
import { API_VERSION, API_VERSION_HEADER, firstErrorCode, OciError } from "../oci/errors.js";
import { parseNextLink } from "../oci/pagination.js";
import { upstreamFailureError } from "../oci/upstream-failure.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { type HttpResponse, UpstreamError } from "../registry-client/http.js";
import { readList } from "../registry-client/pages.js";
import { mapLimit } from "../util/concurrency.js";
import { type CatalogVerdict, nextFillStep } from "./catalog-fill.js";
import type { CatalogVerdicts } from "./catalog-verdicts.js";
import type { ListAnswer } from "./list-answer.js";

/** Tags checks in flight at once for one catalog request. */
export const CHECKS_AT_ONCE = 8;
/** A plain `n` is asked of the registry this many times over, up to WIDEST. */
const WIDEN_FACTOR = 2;
/** 2.8's default `catalog.maxentries`. */
const WIDEST = 1000;
/** Upstream catalog pages read for one answer at most (a registry whose pages never end). */
const MAX_UPSTREAM_PAGES = 10_000;
const RELAYED_HEADERS = ["www-authenticate", "content-type", "retry-after"];

export interface CatalogAsk {
  /** The raw query string (without `?`), sent upstream unchanged. */
  query: string;
  authorization: string | undefined;
  /** The upstream with the caller's credentials. */
  registry: RegistryCalls;
}

type Fetched = { ok: true; names: string[]; link: string | null } | { ok: false; answer: ListAnswer };

export async function answerCatalog(ask: CatalogAsk, verdicts: CatalogVerdicts): Promise<ListAnswer> {
  const { first, widened } = await firstPage(ask);
  if (!first.ok) return first.answer;
  // No Link (the query as it came): the catalog ends on this page, every name of it may be listed.
  const n =
    widened !== null
      ? widened.n
      : first.link === null
        ? null
        : (linkPageSize(first.link) ?? first.names.length);
  const upstreamN = widened?.upstreamN ?? n ?? 100;
  const candidates = [...first.names];
  const seen = new Set(candidates);
  const known = new Map<string, CatalogVerdict>();
  let upstreamMore = first.link !== null;
  for (let pages = 1; ; ) {
    const step = nextFillStep({ n, candidates, verdicts: known, upstreamMore });
    if (step.kind === "page") return pageAnswer(step.repositories, step.next, n);
    if (step.kind === "check") {
      const found = await mapLimit(step.names, CHECKS_AT_ONCE, (name) =>
        verdicts.verdict(name, ask.authorization, ask.registry),
      );
      for (const [i, name] of step.names.entries()) known.set(name, found[i]!);
      continue;
    }
    if (++pages > MAX_UPSTREAM_PAGES)
      throw new OciError("UNKNOWN", "upstream catalog pagination does not end", undefined, { status: 502 });
    const next = await fetchCatalog(ask.registry, `/v2/_catalog?${catalogQuery(step.after, upstreamN)}`);
    if (!next.ok) return next.answer;
    const fresh = next.names.filter((name) => !seen.has(name));
    for (const name of fresh) {
      seen.add(name);
      candidates.push(name);
    }
    upstreamMore = next.link !== null && fresh.length > 0;
  }
}

/** The registry's first page: for a doubled `n` when the query is plain and the registry takes it, else for the query as it came. */
async function firstPage(
  ask: CatalogAsk,
): Promise<{ first: Fetched; widened: ReturnType<typeof widenedCatalogQuery> }> {
  const widened = widenedCatalogQuery(ask.query, WIDEN_FACTOR, WIDEST);
  if (widened !== null) {
    const first = await fetchCatalog(ask.registry, `/v2/_catalog?${widened.query}`);
    const refused =
      !first.ok &&
      first.answer.status === 400 &&
      firstErrorCode(first.answer.body) === "PAGINATION_NUMBER_INVALID";
    if (!refused) return { first, widened };
  }
  const path = `/v2/_catalog${ask.query === "" ? "" : `?${ask.query}`}`;
  return { first: await fetchCatalog(ask.registry, path), widened: null };
}

function catalogQuery(last: string, n: number): string {
  return `last=${encodeURIComponent(last)}&n=${n}`;
}

async function fetchCatalog(registry: RegistryCalls, path: string): Promise<Fetched> {
  let res: HttpResponse;
  try {
    res = await registry.request({ method: "GET", path, scope: "registry:catalog:*" });
  } catch (err) {
    if (err instanceof UpstreamError) throw upstreamFailureError(err.kind);
    throw err;
  }
  if (res.status !== 200) return { ok: false, answer: relayed(res) };
  const names = readList("repositories")(res.body);
  if (names === null)
    throw new OciError("UNKNOWN", "upstream sent an invalid /v2/_catalog", undefined, { status: 502 });
  const link = res.headers.link;
  return { ok: true, names, link: parseNextLink(Array.isArray(link) ? link.join(", ") : link) };
}

/** The registry's error answer, as it came (status, body, challenge). */
function relayed(res: HttpResponse): ListAnswer {
  const headers: Record<string, string> = {
    [API_VERSION_HEADER]: API_VERSION,
    "content-length": String(res.body.length),
  };
  for (const h of RELAYED_HEADERS) {
    const v = res.headers[h];
    if (typeof v === "string") headers[h] = v;
  }
  return { status: res.status, headers, body: res.body };
}

function pageAnswer(repositories: string[], next: string | null, n: number | null): ListAnswer {
  const body = `${JSON.stringify({ repositories })}\n`;
  const headers: Record<string, string> = {
    [API_VERSION_HEADER]: API_VERSION,
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
  };
  if (next !== null && n !== null) headers["link"] = catalogLink(next, n);
  return { status: 200, headers, body };
}
