/**
 * `GET`/`HEAD /v2/<name>/tags/_list` (the new tags API) and `/v2/<name>/tags/list`
 * (legacy): the upstream's complete list, fetched with the caller's credentials
 * (and cached per credentials for a moment), sorted and paginated by the proxy.
 *
 * Answers:
 * - 200 `{"name","tags"}` with `Link: <...>; rel="next"` when more tags remain;
 * - 400 PAGINATION_NUMBER_INVALID for a bad `n` (checked before the upstream is asked);
 * - 401/403 from the upstream relayed unchanged (challenge and body);
 * - 404 NAME_UNKNOWN for an unknown repository (never the upstream's text 404);
 * - other upstream errors relayed; an unreachable upstream 503 UNAVAILABLE;
 * - 405 for methods other than GET/HEAD on `_list` (legacy `list` passes them through);
 * - 307 to `tags/_list` for legacy `list` when `tags.legacyList` is `redirect`.
 */
import type { IncomingMessage } from "node:http";
import type { AppDeps } from "../app.js";
import { API_VERSION, API_VERSION_HEADER } from "../http/write-error.js";
import { firstErrorCode, OciError } from "../oci/errors.js";
import { type ListVariant, nextPageLink, type PageQuery, parsePageQuery } from "../oci/pagination.js";
import { splitPathQuery } from "../oci/routes.js";
import { type FetchFailure, fetchUpstreamTagList } from "../tags/fetch-tags.js";
import type { TagList } from "../tags/tag-list.js";
import { callerHeaders } from "../upstream/caller-headers.js";
import { UpstreamError } from "../upstream/client.js";
import type { V2Handler } from "./index.js";

export const LIST_METHODS = "GET, HEAD";

/** Upstream response headers worth relaying with an upstream error. */
const RELAYED_HEADERS = ["www-authenticate", "content-type", "retry-after"];

export const handleTagsList: V2Handler<"tags-list"> = async (c, route, deps) => {
  const req = c.env.incoming;
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    throw new OciError(
      "METHOD_UNKNOWN",
      `method ${method} is not allowed on the tags list`,
      { method },
      {
        status: 405,
        headers: { allow: LIST_METHODS },
      },
    );
  }
  const { query } = splitPathQuery(req.url ?? "/");
  if (route.variant === "list" && deps.config.tags.legacyList === "redirect") {
    return redirectToNewList(route.name, query);
  }
  const page = parsePageQuery(query, deps.config.tags.maxPageSize);
  const loaded = await loadTags(req, route.name, deps);
  if ("failure" in loaded) return failureResponse(loaded.failure, route.name);
  const response = listResponse(route.name, route.variant, loaded.tags, page);
  // A first page picked without sorting (tag-list.ts): sort the whole list once the
  // answer is out, for the cache and the next pages (a page asked for sooner sorts
  // on demand). Without the cache, the list is dropped unsorted.
  if (!loaded.tags.isSorted && deps.config.tags.cacheTtlMs > 0) setImmediate(() => loaded.tags.sorted());
  return response;
};

async function loadTags(req: IncomingMessage, name: string, deps: AppDeps) {
  const headers = callerHeaders(req, deps.caller);
  try {
    return await deps.tagLists.load(name, req.headers.authorization, () =>
      fetchUpstreamTagList(deps.upstream, name, headers),
    );
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    deps.metrics.upstreamErrors.inc({ kind: err.kind });
    deps.logger.warn({ kind: err.kind, err: err.message, repository: name }, "upstream tags list failed");
    throw transportError(err);
  }
}

function transportError(err: UpstreamError): OciError {
  switch (err.kind) {
    case "unreachable":
      return new OciError("UNAVAILABLE", "upstream registry unreachable", { reason: err.kind });
    case "timeout":
      return new OciError(
        "UNAVAILABLE",
        "upstream registry did not answer in time",
        { reason: err.kind },
        {
          status: 504,
        },
      );
    default:
      return new OciError(
        "UNAVAILABLE",
        "upstream registry exchange failed",
        { reason: err.kind },
        {
          status: 502,
        },
      );
  }
}

function baseHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { [API_VERSION_HEADER]: API_VERSION, ...extra };
}

function listResponse(name: string, variant: ListVariant, list: TagList, query: PageQuery): Response {
  const page = list.page(query);
  const body = `${JSON.stringify({ name, tags: page.tags })}\n`;
  const headers = baseHeaders({
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
  });
  if (page.next !== null && query.n !== null)
    headers["link"] = nextPageLink(name, variant, query.n, page.next);
  return new Response(body, { status: 200, headers });
}

function redirectToNewList(name: string, query: string): Response {
  const location = `/v2/${name}/tags/_list${query ? `?${query}` : ""}`;
  return new Response(null, { status: 307, headers: baseHeaders({ location, "content-length": "0" }) });
}

function failureResponse(failure: FetchFailure, name: string): Response {
  if (failure.kind === "invalid") throw new OciError("UNKNOWN", failure.reason, undefined, { status: 502 });
  const { status, headers, body } = failure.response;
  if (status === 404) throw new OciError("NAME_UNKNOWN", "repository name not known to registry", { name });
  const isOciJson = firstErrorCode(body) !== undefined;
  if (status === 401 || status === 403 || (status >= 400 && isOciJson)) {
    const relayed = baseHeaders({ "content-length": String(body.length) });
    for (const h of RELAYED_HEADERS) {
      const v = headers[h];
      if (typeof v === "string") relayed[h] = v;
    }
    return new Response(body.length > 0 ? new Uint8Array(body) : null, { status, headers: relayed });
  }
  throw new OciError(
    "UNKNOWN",
    `upstream answered ${status} to the tags list`,
    { status },
    {
      status: status >= 400 ? status : 502,
    },
  );
}
