/**
 * Fetching a repository's complete tag list from the upstream with the caller's
 * own headers: `GET /v2/<name>/tags/list`, `"tags": null` read as no tags, and an
 * upstream that paginates itself (a `Link: <...>; rel="next"`, as distribution 3
 * sends) followed to the end. The result is sorted (byte-wise) and duplicate-free,
 * at once (fetchUpstreamTags) or when first needed (fetchUpstreamTagList).
 *
 * Upstream failures are returned, not thrown, so the handler can relay them;
 * transport errors (UpstreamError) are thrown.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { parseNextLink, sortTags } from "../oci/pagination.js";
import type { UpstreamClient, UpstreamResponse } from "../upstream/client.js";
import type { ListLoad } from "./list-cache.js";
import { TagList } from "./tag-list.js";

/** Pages followed at most before giving up on an upstream that never stops. */
export const MAX_UPSTREAM_PAGES = 10_000;

export type FetchFailure =
  /** The upstream answered something other than 200: relay or map it. */
  | { kind: "status"; response: UpstreamResponse }
  /** A 200 whose body is not a tags list, or a next Link the proxy will not follow. */
  | { kind: "invalid"; reason: string };

/** Reads `{"tags": [...] | null}`; null when the body is not a tags list. */
export function readTags(body: Buffer): string[] | null {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    return null;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return null;
  const tags = (doc as { tags?: unknown }).tags;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string")) return null;
  return tags as string[];
}

/**
 * The upstream path (below the upstream's base path) of a next-page Link, when it
 * points at the same repository's `tags/list` on the upstream itself; null otherwise.
 */
export function nextUpstreamPath(link: string, name: string, upstream: UpstreamClient): string | null {
  const base = upstream.target.url;
  let url: URL;
  try {
    url = new URL(link, base);
  } catch {
    return null;
  }
  if (!upstream.target.origins.has(url.origin.toLowerCase())) return null;
  const prefix = base.pathname.replace(/\/+$/, "");
  let path = url.pathname;
  if (prefix && path.startsWith(`${prefix}/`)) path = path.slice(prefix.length);
  if (path !== `/v2/${name}/tags/list`) return null;
  return path + url.search;
}

/** The complete list, sorted and duplicate-free. */
export async function fetchUpstreamTags(
  upstream: UpstreamClient,
  name: string,
  headers: OutgoingHttpHeaders,
): Promise<ListLoad<FetchFailure>> {
  const loaded = await collectUpstreamTags(upstream, name, headers);
  return "tags" in loaded ? { tags: sortTags(loaded.tags) } : loaded;
}

/** The complete list as a TagList, sorted when first needed (see tag-list.ts). */
export async function fetchUpstreamTagList(
  upstream: UpstreamClient,
  name: string,
  headers: OutgoingHttpHeaders,
): Promise<ListLoad<FetchFailure, TagList>> {
  const loaded = await collectUpstreamTags(upstream, name, headers);
  return "tags" in loaded ? { tags: new TagList(loaded.tags) } : loaded;
}

/**
 * Whether the upstream lets these headers read the list: null when it answers the
 * first page with 200 (its body is not read: a large one closes the connection
 * instead of being received), else the failure to relay.
 * For a caller new to a list the cache holds (list-cache.ts ListCheck).
 */
export async function checkUpstreamTagList(
  upstream: UpstreamClient,
  name: string,
  headers: OutgoingHttpHeaders,
): Promise<{ failure: FetchFailure } | null> {
  const response = await upstream.request({
    method: "GET",
    path: `/v2/${name}/tags/list`,
    headers,
    discardSuccessBody: true,
  });
  return response.status === 200 ? null : { failure: { kind: "status", response } };
}

/** Every page's tags in the upstream's order, duplicates kept. */
export async function collectUpstreamTags(
  upstream: UpstreamClient,
  name: string,
  headers: OutgoingHttpHeaders,
): Promise<ListLoad<FetchFailure, string[]>> {
  const collected: string[] = [];
  const seen = new Set<string>();
  let path: string | null = `/v2/${name}/tags/list`;
  for (let pages = 0; path !== null; pages++) {
    if (pages >= MAX_UPSTREAM_PAGES || seen.has(path)) {
      return { failure: { kind: "invalid", reason: "upstream pagination does not end" } };
    }
    seen.add(path);
    const response = await upstream.request({ method: "GET", path, headers });
    if (response.status !== 200) return { failure: { kind: "status", response } };
    const tags = readTags(response.body);
    if (tags === null) return { failure: { kind: "invalid", reason: "upstream sent an invalid tags list" } };
    for (const t of tags) collected.push(t);
    const link = parseNextLink(headerValue(response.headers.link));
    if (link === null) break;
    path = nextUpstreamPath(link, name, upstream);
    if (path === null) return { failure: { kind: "invalid", reason: "upstream next Link points elsewhere" } };
  }
  return { tags: collected };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
}
