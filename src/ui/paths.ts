/**
 * The web UI's addresses, pure: what a path under `/ui/` names, and the links
 * the pages build. Repository names hold slashes, so a name is followed by a
 * marker that cannot be a name component (components start with a lowercase
 * letter or a digit): `_tags`, `_delete`, `_history`, `_undelete`.
 *
 *   /ui/                                  repositories (?q= filter, ?last= page)
 *   /ui/_login                            asks the browser for credentials
 *   /ui/assets/<file>                     the stylesheet, the script, the icon
 *   /ui/r/?name=<name>                    a repository opened by name (303 to its page)
 *   /ui/r/<name>                          a repository's tags (?last=, ?view=referrers)
 *   /ui/r/<name>/_tags/<tag>              a tag
 *   /ui/r/<name>/_tags/<tag>/_delete      GET: the confirmation; POST: the delete
 *   /ui/r/<name>/_tags/<tag>/_history     a tag's history (the tag history's entries)
 *   /ui/r/<name>/_tags/<tag>/_undelete    GET: the confirmation (?digest=); POST: the undelete
 *   /ui/r/<name>/_history                 a repository's recent changes
 *   /ui/r/<name>/_delete                  GET: the repository delete's confirmation; POST: the delete
 *
 * Names and tags are checked against the OCI grammar, so every link built here
 * is made of characters that need no escaping in a URL.
 */
import { isValidName, isValidTag } from "../oci/grammar.js";

export const UI_ROOT = "/ui/";
export const ASSETS_PATH = "/ui/assets/";

export type UiPage =
  | { kind: "repositories" }
  | { kind: "login" }
  | { kind: "asset"; file: string }
  /** `/ui/r/?name=<name>`: a repository opened by name (the catalog may be closed to the visitor). */
  | { kind: "open" }
  | { kind: "repository"; name: string }
  | { kind: "tag"; name: string; tag: string }
  | { kind: "delete-tag"; name: string; tag: string }
  | { kind: "tag-history"; name: string; tag: string }
  | { kind: "undelete-tag"; name: string; tag: string }
  | { kind: "repository-history"; name: string }
  | { kind: "delete-repository"; name: string };

const TAG_ACTIONS: ReadonlyMap<string, "delete-tag" | "tag-history" | "undelete-tag"> = new Map([
  ["_delete", "delete-tag"],
  ["_history", "tag-history"],
  ["_undelete", "undelete-tag"],
]);

const REPOSITORY_ACTIONS: ReadonlyMap<string, "delete-repository" | "repository-history"> = new Map([
  ["/_delete", "delete-repository"],
  ["/_history", "repository-history"],
]);

/** The page a path (from `/ui/` on, decoded once) names, or null. */
export function parseUiPath(path: string): UiPage | null {
  if (path === UI_ROOT) return { kind: "repositories" };
  if (path === "/ui/_login") return { kind: "login" };
  if (path.startsWith(ASSETS_PATH)) {
    const file = path.slice(ASSETS_PATH.length);
    return /^[a-z0-9-]+\.[a-z]+$/.test(file) ? { kind: "asset", file } : null;
  }
  if (path === "/ui/r/") return { kind: "open" };
  if (!path.startsWith("/ui/r/")) return null;
  const rest = path.slice("/ui/r/".length);
  const at = rest.indexOf("/_tags/");
  if (at === -1) {
    for (const [suffix, kind] of REPOSITORY_ACTIONS) {
      if (rest.endsWith(suffix)) return repositoryPage(kind, rest.slice(0, -suffix.length));
    }
    return repositoryPage("repository", rest);
  }
  const name = rest.slice(0, at);
  const [tag = "", action, ...more] = rest.slice(at + "/_tags/".length).split("/");
  const kind = more.length > 0 ? undefined : action === undefined ? "tag" : TAG_ACTIONS.get(action);
  if (kind === undefined || !isValidName(name) || !isValidTag(tag)) return null;
  return { kind, name, tag };
}

function repositoryPage(
  kind: "repository" | "delete-repository" | "repository-history",
  name: string,
): UiPage | null {
  return isValidName(name) ? { kind, name } : null;
}

/** A query string from the parameters that have a value (`?a=1&b=2`, or ""). */
export function queryOf(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

/** The links the pages build (names and tags valid by the grammar, so used as they are). */
export const uiUrl = {
  repositories: (params: { q?: string | null; last?: string | null; n?: number | null } = {}) =>
    `${UI_ROOT}${queryOf(params)}`,
  login: () => "/ui/_login",
  asset: (file: string) => `${ASSETS_PATH}${file}`,
  repository: (
    name: string,
    params: { last?: string | null; view?: string | null; n?: number | null; deleted?: string | null } = {},
  ) => `/ui/r/${name}${queryOf(params)}`,
  tag: (name: string, tag: string, params: { undeleted?: string | null } = {}) =>
    `/ui/r/${name}/_tags/${tag}${queryOf(params)}`,
  deleteTag: (name: string, tag: string) => `/ui/r/${name}/_tags/${tag}/_delete`,
  tagHistory: (name: string, tag: string) => `/ui/r/${name}/_tags/${tag}/_history`,
  undeleteTag: (name: string, tag: string, digest?: string) =>
    `/ui/r/${name}/_tags/${tag}/_undelete${queryOf({ digest })}`,
  repositoryHistory: (name: string) => `/ui/r/${name}/_history`,
  deleteRepository: (name: string) => `/ui/r/${name}/_delete`,
};
