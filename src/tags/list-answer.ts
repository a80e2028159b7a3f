/**
 * The answer to `GET`/`HEAD /v2/<name>/tags/_list` (the new tags API) and
 * `/v2/<name>/tags/list` (legacy), without any HTTP framework: the upstream's
 * complete list, fetched with the caller's credentials (and cached for a moment,
 * served only to callers the upstream has answered: tags/list-cache.ts), sorted and
 * paginated by the proxy. The Hono handler
 * (handlers/tags-list.ts) writes what this returns.
 *
 * Answers:
 * - 200 `{"name","tags"}` with `Link: <...>; rel="next"` when more tags remain;
 * - 400 PAGINATION_NUMBER_INVALID for a bad `n` (checked before the upstream is asked);
 * - 401/403 from the upstream relayed unchanged (challenge and body);
 * - 404 NAME_UNKNOWN for an unknown repository (never the upstream's text 404), and
 *   for one without tags (2.8 answers 200 with `"tags":null` or `[]` for a repository
 *   whose tags were all deleted; the spec's answer is NAME_UNKNOWN: docs/repo-delete.md);
 * - other upstream errors relayed; an unreachable upstream 503 UNAVAILABLE;
 * - 307 to `tags/_list` for legacy `list` when `tags.legacyList` is `redirect`.
 * Errors the proxy states itself are thrown as OciError (rendered by the caller).
 */
import type { Config } from "../config.js";
import { API_VERSION, API_VERSION_HEADER, firstErrorCode, OciError } from "../oci/errors.js";
import { type ListVariant, nextPageLink, type PageQuery, parsePageQuery } from "../oci/pagination.js";
import { upstreamFailureError } from "../oci/upstream-failure.js";
import type { Logger } from "../ops/logger.js";
import type { Metrics } from "../ops/metrics.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import type { ListLoad, TagListCache } from "./list-cache.js";
import { TagList } from "./tag-list.js";

/** One list request: what the answer depends on. */
export interface ListAsk {
  name: string;
  variant: ListVariant;
  /** The raw query string (without `?`). */
  query: string;
  /** The caller's Authorization header (the cache key's credentials). */
  authorization: string | undefined;
  /** The upstream, with the caller's own credentials. */
  registry: RegistryCalls;
}

/** A complete answer; `body` is what a GET sends (a HEAD sends the same head, no body). */
export interface ListAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** What the list answer uses of the proxy's dependencies. */
export interface ListDeps {
  config: Pick<Config, "tags">;
  tagLists: TagListCache;
  metrics: Pick<Metrics, "upstreamErrors">;
  logger: Logger;
}

/** Upstream response headers worth relaying with an upstream error. */
const RELAYED_HEADERS = ["www-authenticate", "content-type", "retry-after"];

export async function answerTagsList(ask: ListAsk, deps: ListDeps): Promise<ListAnswer> {
  if (ask.variant === "list" && deps.config.tags.legacyList === "redirect") {
    return redirectToNewList(ask.name, ask.query);
  }
  const page = parsePageQuery(ask.query, deps.config.tags.maxPageSize);
  const loaded = await loadTags(ask, deps);
  if ("failure" in loaded) return failureAnswer(loaded.failure, ask.name, deps.logger);
  if (loaded.tags.length === 0) {
    throw new OciError("NAME_UNKNOWN", "repository name not known to registry (it has no tags)", {
      name: ask.name,
    });
  }
  const answer = listAnswer(ask.name, ask.variant, loaded.tags, page);
  // A first page picked without sorting (tag-list.ts): sort the whole list once the
  // answer is out, for the cache and the next pages (a page asked for sooner sorts
  // on demand). Without the cache, the list is dropped unsorted.
  if (!loaded.tags.isSorted && deps.config.tags.cacheTtlMs > 0) setImmediate(() => loaded.tags.sorted());
  return answer;
}

/** The complete list (a TagList, sorted when first needed) from the cache or the upstream. */
function loadTags(ask: ListAsk, deps: ListDeps) {
  return loadTagList(deps.tagLists, ask);
}

/**
 * A repository's complete tag list as `authorization` sees it, from the cache or
 * the upstream (with `registry`, the same credentials): the tags lists' and the web UI's.
 */
export function loadTagList(
  tagLists: TagListCache,
  ask: Pick<ListAsk, "name" | "authorization" | "registry">,
): Promise<ListLoad<Failure, TagList>> {
  return tagLists.load(
    ask.name,
    ask.authorization,
    async (): Promise<ListLoad<Failure, TagList>> => {
      const tags = await ask.registry.tagList(ask.name);
      return isFailed(tags) ? { failure: tags } : { tags: new TagList(tags) };
    },
    async () => {
      const refused = await ask.registry.tagListCheck(ask.name);
      return refused === null ? null : { failure: refused };
    },
  );
}

function baseHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { [API_VERSION_HEADER]: API_VERSION, ...extra };
}

function listAnswer(name: string, variant: ListVariant, list: TagList, query: PageQuery): ListAnswer {
  if (query.n === null && query.last === null) {
    const body = list.wholeBody(name);
    return { status: 200, headers: jsonHeaders(body.length), body };
  }
  const page = list.page(query);
  const body = `${JSON.stringify({ name, tags: page.tags })}\n`;
  const headers = jsonHeaders(Buffer.byteLength(body));
  if (page.next !== null && query.n !== null)
    headers["link"] = nextPageLink(name, variant, query.n, page.next);
  return { status: 200, headers, body };
}

function jsonHeaders(length: number): Record<string, string> {
  return baseHeaders({ "content-type": "application/json; charset=utf-8", "content-length": String(length) });
}

function redirectToNewList(name: string, query: string): ListAnswer {
  const location = `/v2/${name}/tags/_list${query ? `?${query}` : ""}`;
  return { status: 307, headers: baseHeaders({ location, "content-length": "0" }), body: "" };
}

function failureAnswer(failure: Failure, name: string, logger: Logger): ListAnswer {
  if (failure.kind === "network") {
    // Counted in rcp_upstream_errors_total by the registry client.
    const { kind, message } = failure.error;
    logger.warn({ kind, err: message, repository: name }, "upstream tags list failed");
    throw upstreamFailureError(kind);
  }
  if (failure.kind !== "status")
    throw new OciError("UNKNOWN", describeFailure(failure), undefined, { status: 502 });
  const { status, headers, body } = failure;
  if (status === 404) throw new OciError("NAME_UNKNOWN", "repository name not known to registry", { name });
  const isOciJson = firstErrorCode(body) !== undefined;
  if (status === 401 || status === 403 || (status >= 400 && isOciJson)) {
    const relayed = baseHeaders({ "content-length": String(body.length) });
    for (const h of RELAYED_HEADERS) {
      const v = headers[h];
      if (typeof v === "string") relayed[h] = v;
    }
    return { status, headers: relayed, body };
  }
  throw new OciError(
    "UNKNOWN",
    `upstream answered ${status} to the tags list`,
    { status },
    { status: status >= 400 ? status : 502 },
  );
}
