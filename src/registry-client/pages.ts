/**
 * The registry API's paginated lists (`/v2/<name>/tags/list`, `/v2/_catalog`):
 * every page, following `Link: <…>; rel="next"` while it names the same list on
 * the registry itself (a registry that paginates by itself, as distribution 3
 * does), never elsewhere and never round in a loop.
 */
import { joinedHeader } from "../http/headers.js";
import { parseNextLink } from "../oci/pagination.js";
import { type Call, type CallOptions, withOptions } from "./calls.js";
import { type Failure, isFailed, statusFailure } from "./failure.js";
import { ownPath, type Transport } from "./transport.js";

/** Pages of a list followed at most before giving up on a registry that never stops. */
export const MAX_PAGES = 10_000;

/** Every page's entries of `listPath` (the first page at `firstPath`), in the registry's order. */
export async function collectPages(
  call: Call,
  registry: Pick<Transport, "url" | "prefix" | "origins">,
  list: { firstPath: string; listPath: string; scope: string; read: (body: Buffer) => string[] | null },
  o?: CallOptions,
): Promise<string[] | Failure> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let path: string | null = list.firstPath; path !== null; ) {
    if (seen.size >= MAX_PAGES || seen.has(path)) {
      return { ok: false, kind: "invalid", reason: "upstream pagination does not end" };
    }
    seen.add(path);
    const res = await call(withOptions({ method: "GET", path, scope: list.scope }, o));
    if (isFailed(res)) return res;
    if (res.status !== 200) return statusFailure(res);
    const entries = list.read(res.body);
    if (entries === null)
      return { ok: false, kind: "invalid", reason: `upstream sent an invalid ${list.listPath}` };
    for (const e of entries) out.push(e);
    const link = parseNextLink(joinedHeader(res.headers.link));
    if (link === null) break;
    path = nextPath(registry, link, list.listPath);
    if (path === null) return { ok: false, kind: "invalid", reason: "upstream next Link points elsewhere" };
  }
  return out;
}

/** One page of `/v2/_catalog` (`n` names after `last`), and whether the registry says more follow. */
export async function catalogPage(
  call: Call,
  page: { n: number; last: string | null },
  o?: CallOptions,
): Promise<{ repositories: string[]; more: boolean } | Failure> {
  const last = page.last === null ? "" : `&last=${encodeURIComponent(page.last)}`;
  const path = `/v2/_catalog?n=${page.n}${last}`;
  const res = await call(withOptions({ method: "GET", path, scope: "registry:catalog:*" }, o));
  if (isFailed(res)) return res;
  if (res.status !== 200) return statusFailure(res);
  const repositories = readList("repositories")(res.body);
  if (repositories === null)
    return { ok: false, kind: "invalid", reason: "upstream sent an invalid /v2/_catalog" };
  return { repositories, more: parseNextLink(joinedHeader(res.headers.link)) !== null };
}

/** Reads `{"<key>": [...] | null}` (null: no entries); null when the body is not that. */
export function readList(key: string): (body: Buffer) => string[] | null {
  return (body) => {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString("utf8"));
    } catch {
      return null;
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return null;
    const list = (doc as Record<string, unknown>)[key];
    if (list === null || list === undefined) return [];
    if (!Array.isArray(list) || list.some((t) => typeof t !== "string")) return null;
    return list as string[];
  };
}

/**
 * The path (below the registry's URL) of a next-page Link, when it names the same
 * list on the registry itself (its own origin or a public name of it); null otherwise.
 */
export function nextPath(
  registry: Pick<Transport, "url" | "prefix" | "origins">,
  link: string,
  listPath: string,
): string | null {
  const path = ownPath(registry, link);
  return path !== null && path.split("?", 1)[0] === listPath ? path : null;
}
