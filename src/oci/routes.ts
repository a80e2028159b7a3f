/**
 * The route parser: request method and target → what the request is about.
 *
 * Every rule reads the path as the registry will: decoded once (canonical-path.ts),
 * so `/%762/x/%6danifests/v1` is the manifest route it is for the registry, and
 * what cannot be mapped is refused here. parseTarget also reads the query of the
 * upload requests whose parameters the registry acts on (upload-query.ts), and
 * gives the spelling to forward: the canonical path, re-encoded so that the
 * upstream decodes exactly the path every rule examined.
 *
 * Repository names contain slashes and may have components named `tags`,
 * `manifests`, `blobs` or `uploads`, and `list` and `_list` are legal tags, so the
 * path is split the way distribution does it: by its fixed *suffix*. The name is
 * whatever comes before the suffix and must match the name grammar.
 *
 * Pure: no I/O, never throws.
 */

import { canonicalPath } from "./canonical-path.js";
import type { OciErrorCode } from "./errors.js";
import { isValidDigest, isValidName, isValidTag, isValidUploadId, looksLikeDigest } from "./grammar.js";
import { encodePath } from "./percent-encoding.js";
import { uploadQueryRefusal } from "./upload-query.js";

export type RouteMatch =
  | { kind: "base" }
  | { kind: "catalog" }
  /** `tags/list` (legacy) or `tags/_list` (the new tags API). */
  | { kind: "tags-list"; name: string; variant: "list" | "_list" }
  /** `/v2/<name>/tags/<tag>`: the proposal's tag resource (DELETE only). */
  | { kind: "tag"; name: string; tag: string }
  | { kind: "manifest"; name: string; reference: string; by: "tag" | "digest" }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "upload-start"; name: string }
  | { kind: "upload"; name: string; uploadId: string }
  | { kind: "referrers"; name: string; digest: string }
  /**
   * `/v2/<name>`, a path no other route takes and not ending in a route word: the
   * repository itself (distribution #2747's shape). DELETE deletes it; other methods are 405.
   */
  | { kind: "repository"; name: string }
  /** A `/v2/` path that is not an API route (the upstream answers it: usually 404). */
  | { kind: "v2-other" }
  /** Outside `/v2/`: operational endpoints or the upstream's own (e.g. `/`). */
  | { kind: "non-api"; path: string }
  /** Hostile or malformed: answered by the proxy, never forwarded. */
  | { kind: "invalid"; code: OciErrorCode; message: string; detail?: unknown };

export type RouteKind = RouteMatch["kind"];

/** Methods a registry API request may use; anything else is refused up front. */
export const API_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "PUT",
  "POST",
  "PATCH",
  "DELETE",
  "OPTIONS",
]);

/** Splits `path?query` without allocating a URL object. */
export function splitPathQuery(url: string): { path: string; query: string } {
  const q = url.indexOf("?");
  return q === -1 ? { path: url, query: "" } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function invalid(code: OciErrorCode, message: string, detail?: unknown): RouteMatch {
  return detail === undefined
    ? { kind: "invalid", code, message }
    : { kind: "invalid", code, message, detail };
}

/** Checks segments for traversal and emptiness. `allowTrailingEmpty` permits one final "" (a trailing slash). */
function unsafeSegments(segments: readonly string[], allowTrailingEmpty: boolean): boolean {
  const last = segments.length - 1;
  for (let i = 0; i <= last; i++) {
    const s = segments[i];
    if (s === "." || s === "..") return true;
    if (s === "" && !(allowTrailingEmpty && i === last)) return true;
  }
  return false;
}

function nameOrInvalid(segments: readonly string[], end: number): string | RouteMatch {
  if (end <= 0) return invalid("NAME_INVALID", "repository name is empty");
  const name = segments.slice(0, end).join("/");
  if (!isValidName(name)) return invalid("NAME_INVALID", "invalid repository name", { name });
  return name;
}

/** A request target, read once: the route, the canonical path and what to forward. */
export interface RequestTarget {
  route: RouteMatch;
  /** The path every rule reads (decoded once); the raw path when refused. */
  path: string;
  /** The path as the client spelt it (for the access log). */
  rawPath: string;
  /** The raw query (without `?`), forwarded byte for byte. */
  query: string;
  /**
   * The target to send upstream instead of the client's (the canonical path
   * re-encoded, and the raw query), or null when the client's spelling is the
   * canonical one and goes as it came.
   */
  upstream: string | null;
}

/** Parses a request target (`req.url`): see the module comment. */
export function parseTarget(method: string, url: string): RequestTarget {
  const q = url.indexOf("?");
  const raw = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? "" : url.slice(q + 1);
  if (query.includes("#")) {
    return { route: invalid("NAME_INVALID", "request target has a fragment (#)"), ...refused(raw, query) };
  }
  if (!raw.startsWith("/") || raw.startsWith("//")) {
    return { route: notOriginForm(), ...refused(raw, query) };
  }
  const path = canonicalPath(raw);
  if (typeof path !== "string") {
    return { route: invalid("NAME_INVALID", path.refused), ...refused(raw, query) };
  }
  let route = matchPath(method, path);
  const refusal = uploadQueryRefusal(route.kind, method, query);
  if (refusal !== null) route = invalid(refusal.code, refusal.message, refusal.detail);
  const upstream = path === raw ? null : encodePath(path) + url.slice(raw.length);
  return { route, path, rawPath: raw, query, upstream };
}

function refused(raw: string, query: string): Omit<RequestTarget, "route"> {
  return { path: raw, rawPath: raw, query, upstream: null };
}

/**
 * The route of a raw path (percent-decoded once first, as parseTarget does; the
 * query is not read).
 */
export function parseRoute(method: string, rawPath: string): RouteMatch {
  if (!rawPath.startsWith("/") || rawPath.startsWith("//")) return notOriginForm();
  const path = canonicalPath(rawPath);
  return typeof path === "string" ? matchPath(method, path) : invalid("NAME_INVALID", path.refused);
}

// Only origin-form targets: an absolute-form (`http://host/...`), asterisk-form
// (`*`) or network-path (`//host/...`) target is never forwarded, whatever it names.
function notOriginForm(): RouteMatch {
  return invalid("NAME_INVALID", "request target must be a path starting with a single /");
}

/** The route of a canonical (decoded, origin-form) path. */
function matchPath(method: string, path: string): RouteMatch {
  if (path === "/v2/" || path === "/v2") return { kind: "base" };
  if (!path.startsWith("/v2/")) {
    // Outside the API too, a dot segment could resolve into `/v2/` upstream.
    if (unsafeSegments(path.split("/").slice(1), true)) {
      return invalid("NAME_INVALID", "path has empty or dot segments");
    }
    return { kind: "non-api", path };
  }
  const rest = path.slice(4);
  if (rest === "_catalog") return { kind: "catalog" };
  const segments = rest.split("/");
  const n = segments.length;
  const last = segments[n - 1]!;
  const prev = n >= 2 ? segments[n - 2]! : "";
  const prev2 = n >= 3 ? segments[n - 3]! : "";

  // `/blobs/uploads/` (trailing slash kept) and `/blobs/uploads/<id>`.
  if (prev2 === "blobs" && prev === "uploads") {
    if (unsafeSegments(segments, true)) return invalid("NAME_INVALID", "path has empty or dot segments");
    const name = nameOrInvalid(segments, n - 3);
    if (typeof name !== "string") return name;
    if (last === "") return { kind: "upload-start", name };
    if (!isValidUploadId(last))
      return invalid("BLOB_UPLOAD_INVALID", "invalid upload id", { uploadId: last });
    return { kind: "upload", name, uploadId: last };
  }
  if (unsafeSegments(segments, false)) {
    if (method === "DELETE" && last === "" && !unsafeSegments(segments.slice(0, -1), false)) {
      return notARepository(rest, "a trailing slash");
    }
    // A trailing slash on other routes is the upstream's business (it redirects).
    if (last === "" && !unsafeSegments(segments.slice(0, -1), false)) return { kind: "v2-other" };
    return invalid("NAME_INVALID", "path has empty or dot segments");
  }
  if (n < 3) return repositoryRoute(method, segments, rest);

  switch (prev) {
    case "tags": {
      const name = nameOrInvalid(segments, n - 2);
      if (typeof name !== "string") return name;
      // `tags/list` and `tags/_list` are lists for reads; for DELETE they name the tag.
      if ((last === "list" || last === "_list") && method !== "DELETE") {
        return { kind: "tags-list", name, variant: last };
      }
      if (!isValidTag(last)) return invalid("TAG_INVALID", "invalid tag", { tag: last });
      return { kind: "tag", name, tag: last };
    }
    case "manifests": {
      const name = nameOrInvalid(segments, n - 2);
      if (typeof name !== "string") return name;
      if (looksLikeDigest(last)) {
        if (!isValidDigest(last)) return invalid("DIGEST_INVALID", "invalid digest", { digest: last });
        return { kind: "manifest", name, reference: last, by: "digest" };
      }
      if (!isValidTag(last)) {
        // A read of a reference that cannot exist finds nothing: 404, as the
        // distribution spec (and its conformance suite) expects. Writes keep 400.
        if (method === "GET" || method === "HEAD") {
          return invalid("MANIFEST_UNKNOWN", "manifest unknown", { tag: last });
        }
        return invalid("TAG_INVALID", "invalid tag", { tag: last });
      }
      return { kind: "manifest", name, reference: last, by: "tag" };
    }
    case "blobs":
    case "referrers": {
      // `/blobs/uploads` without its slash is no route; the upstream answers it.
      if (prev === "blobs" && last === "uploads")
        return method === "DELETE" ? notARepository(rest, "`uploads`") : { kind: "v2-other" };
      const name = nameOrInvalid(segments, n - 2);
      if (typeof name !== "string") return name;
      if (!isValidDigest(last)) return invalid("DIGEST_INVALID", "invalid digest", { digest: last });
      return prev === "blobs"
        ? { kind: "blob", name, digest: last }
        : { kind: "referrers", name, digest: last };
    }
    default:
      return repositoryRoute(method, segments, rest);
  }
}

/**
 * Last components that make a path an API route (or an incomplete one): a DELETE
 * of `/v2/foo/tags` is no repository delete of `foo/tags`, whatever the name grammar
 * allows (docs/repo-delete.md: such a repository's tags are deleted one by one).
 */
const ROUTE_WORDS: ReadonlySet<string> = new Set(["tags", "manifests", "blobs", "uploads", "referrers"]);

/**
 * A path no other route took: the repository (`DELETE /v2/<name>`; other methods
 * get their 405 from its handler), or for a DELETE why not. Other methods on a
 * path ending in a route word, or naming no valid repository, stay no route.
 */
function repositoryRoute(method: string, segments: readonly string[], rest: string): RouteMatch {
  const last = segments[segments.length - 1]!;
  if (method !== "DELETE") {
    const name = segments.join("/");
    return ROUTE_WORDS.has(last) || !isValidName(name) ? { kind: "v2-other" } : { kind: "repository", name };
  }
  if (ROUTE_WORDS.has(last)) return notARepository(rest, `\`${last}\``);
  const name = nameOrInvalid(segments, segments.length);
  if (typeof name !== "string") return name;
  return { kind: "repository", name };
}

function notARepository(rest: string, why: string): RouteMatch {
  return invalid(
    "UNSUPPORTED",
    `DELETE /v2/${rest} is not a repository delete: the path ends in ${why}, an incomplete API route`,
    { path: `/v2/${rest}` },
  );
}
