/**
 * The two registry calls behind `tags list` and `tag delete`, through the
 * registry client with the command's credentials: every page of the proxy's
 * `GET /v2/<name>/tags/_list` (following its `Link: <…>; rel="next"` on the
 * same list), and its `DELETE /v2/<name>/tags/<tag>` (the proxy's single-tag
 * delete, so its guards and tag history apply). Each answer is turned into an
 * outcome the command prints: never a throw for the registry's sake.
 */
import { joinedHeader } from "../http/headers.js";
import { parseNextLink } from "../oci/pagination.js";
import { TokenError } from "../registry-client/auth.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { errorText } from "../registry-client/failure.js";
import { type HttpResponse, UpstreamError } from "../registry-client/http.js";
import { readList } from "../registry-client/pages.js";

/** Pages followed at most (a registry whose Link never ends). */
const MAX_PAGES = 100_000;

export type TagsOutcome =
  | { ok: true; tags: string[] }
  | { ok: false; kind: "not-found" | "failed" | "denied"; message: string };

export type DeleteOutcome =
  | { ok: true }
  | { ok: false; kind: "not-found" | "failed" | "denied" | "refused"; message: string };

/** `401 UNAUTHORIZED: authentication required`, or the start of a body that is no OCI error. */
function answerText(res: HttpResponse): string {
  const { text } = errorText(res.body);
  return `${res.status}${text ? ` ${text}` : ""}`;
}

/** The raw call; a network failure or an unanswerable 401 becomes a message. */
async function send(
  reg: RegistryCalls,
  method: string,
  path: string,
  scope: string,
): Promise<HttpResponse | { failed: string; denied: boolean }> {
  try {
    return await reg.request({ method, path, scope });
  } catch (err) {
    if (err instanceof TokenError) return { failed: err.message, denied: true };
    if (err instanceof UpstreamError) return { failed: `${method} ${path}: ${err.reason}`, denied: false };
    throw err;
  }
}

/** The path of a next-page Link below the registry's URL, when it is the same list on the same origin. */
export function nextListPath(registryUrl: URL, link: string, listPath: string): string | null {
  let target: URL;
  try {
    target = new URL(link, registryUrl);
  } catch {
    return null;
  }
  if (target.origin !== registryUrl.origin) return null;
  const prefix = registryUrl.pathname.replace(/\/+$/, "");
  if (!target.pathname.startsWith(`${prefix}/v2/`)) return null;
  const path = target.pathname.slice(prefix.length);
  return path === listPath ? `${path}${target.search}` : null;
}

function statusOutcome(
  res: HttpResponse,
  what: string,
): { kind: "not-found" | "denied" | "failed"; message: string } {
  const { code } = errorText(res.body);
  if (res.status === 404 && code === "NAME_UNKNOWN") {
    return { kind: "not-found", message: `${what}: repository not found (${answerText(res)})` };
  }
  if (res.status === 404 && code === "MANIFEST_UNKNOWN") {
    return { kind: "not-found", message: `${what}: tag not found (${answerText(res)})` };
  }
  if (res.status === 404) {
    const hint = " (is --registry the proxy? a plain registry has no tags/_list)";
    return { kind: "not-found", message: `${what}: ${answerText(res)}${hint}` };
  }
  if (res.status === 401 || res.status === 403) {
    return { kind: "denied", message: `${what}: ${answerText(res)} (check the credentials)` };
  }
  return { kind: "failed", message: `${what}: ${answerText(res)}` };
}

/** Every tag of `name`, page by page (`n` per page) through the proxy's tags/_list. */
export async function listAllTags(
  reg: RegistryCalls,
  registryUrl: URL,
  name: string,
  pageSize: number,
): Promise<TagsOutcome> {
  const listPath = `/v2/${name}/tags/_list`;
  const tags: string[] = [];
  const seen = new Set<string>();
  for (let path: string | null = `${listPath}?n=${pageSize}`; path !== null; ) {
    if (seen.has(path) || seen.size >= MAX_PAGES) {
      return { ok: false, kind: "failed", message: `tags list ${name}: the registry's pages never end` };
    }
    seen.add(path);
    const res = await send(reg, "GET", path, `repository:${name}:pull`);
    if ("failed" in res) return { ok: false, kind: res.denied ? "denied" : "failed", message: res.failed };
    if (res.status !== 200) return { ok: false, ...statusOutcome(res, `tags list ${name}`) };
    const page = readList("tags")(res.body);
    if (page === null) return { ok: false, kind: "failed", message: `GET ${path}: not a tags list` };
    tags.push(...page);
    const link = parseNextLink(joinedHeader(res.headers.link));
    if (link === null) break;
    path = nextListPath(registryUrl, link, listPath);
    if (path === null) {
      return { ok: false, kind: "failed", message: `GET ${listPath}: next page points elsewhere: ${link}` };
    }
  }
  return { ok: true, tags };
}

/** `DELETE /v2/<name>/tags/<tag>` on the proxy: 202 deleted; else why not. */
export async function deleteOneTag(reg: RegistryCalls, name: string, tag: string): Promise<DeleteOutcome> {
  const what = `tag delete ${name}:${tag}`;
  const res = await send(reg, "DELETE", `/v2/${name}/tags/${tag}`, `repository:${name}:delete`);
  if ("failed" in res) return { ok: false, kind: res.denied ? "denied" : "failed", message: res.failed };
  if (res.status === 202) return { ok: true };
  const { code } = errorText(res.body);
  if (res.status === 403 && code === "DENIED" && /immutable/i.test(res.body.toString())) {
    return {
      ok: false,
      kind: "refused",
      message: `${what}: refused, the tag is immutable (${answerText(res)})`,
    };
  }
  if (res.status === 503) {
    return {
      ok: false,
      kind: "refused",
      message: `${what}: the registry is read-only now (${answerText(res)})`,
    };
  }
  if (res.status === 405) {
    const hint = " (deletes are off on the registry, or --registry is not the proxy)";
    return { ok: false, kind: "refused", message: `${what}: ${answerText(res)}${hint}` };
  }
  return { ok: false, ...statusOutcome(res, what) };
}
