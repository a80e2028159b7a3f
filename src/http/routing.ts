/**
 * Routing a request: which requests the proxy answers itself (everything else
 * passes through), and the parsed route carried with the raw request from the
 * listener to the Hono handler, so the path is parsed once. The decision is
 * pure: made from the parsed route and the method, before Hono is involved.
 */
import type { IncomingMessage } from "node:http";
import { parseRoute, type RouteMatch, splitPathQuery } from "../oci/routes.js";
import { proxied } from "./proxied-request.js";

/** Operational endpoints outside `/v2/`. */
export const OPS_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);

/** Features that change what the proxy owns (from the config). */
export interface OwnershipOptions {
  /** `oci.referrers`: the referrers API, manifest PUT and manifest DELETE by digest. */
  referrers: boolean;
  /** `tags.immutable`: null without rules, so manifest writes keep their path at no cost. */
  immutable?: ImmutableScope | null;
  /**
   * `delete.digestDeletes: protect`: every DELETE by digest is judged, and every
   * PUT by tag runs in the repository's put phase (the guard's race-safety).
   */
  protectDigestDeletes?: boolean;
  /** The tag history is on (`history.windowMs` > 0): PUTs to a tag and DELETEs by digest are recorded. */
  history?: boolean;
}

/** Which manifest writes the immutable tag guard must see (README "Immutable tags"). */
export interface ImmutableScope {
  /** A PUT to this tag. */
  coversTag(name: string, tag: string): boolean;
  /** A DELETE by digest in this repository. */
  coversRepository(name: string): boolean;
}

const DEFAULT_OWNERSHIP: OwnershipOptions = { referrers: true };

export function ownsRequest(
  route: RouteMatch,
  method: string,
  options: OwnershipOptions = DEFAULT_OWNERSHIP,
): boolean {
  switch (route.kind) {
    // Tag delete: `/tags/<tag>` is the proxy's on every method (405 except
    // DELETE); on `/manifests/<ref>` only DELETE by tag. DELETE by digest keeps
    // passing through.
    case "tag":
      return true;
    case "non-api":
      return OPS_PATHS.has(route.path);
    case "invalid":
      return true;
    case "referrers":
      return options.referrers;
    case "manifest":
      // DELETE by tag: the tag delete. PUT and DELETE by digest: kept in step with the referrers index.
      if (method === "DELETE" && route.by === "tag") return true;
      if (options.referrers) return method === "PUT" || (method === "DELETE" && route.by === "digest");
      // Protected digest deletes: the DELETE by digest, and PUTs by tag (the tag writes it races).
      if (options.protectDigestDeletes && (method === "DELETE" || (method === "PUT" && route.by === "tag")))
        return true;
      // The tag history: a PUT to a tag and a DELETE by digest change tags.
      if (options.history && method === "PUT" && route.by === "tag") return true;
      if (options.history && method === "DELETE" && route.by === "digest") return true;
      // Immutable tags: PUT to a covered tag, DELETE by digest in a covered repository.
      if (!options.immutable) return false;
      if (method === "PUT")
        return route.by === "tag" && options.immutable.coversTag(route.name, route.reference);
      return method === "DELETE" && options.immutable.coversRepository(route.name);
    case "tags-list":
      // Both lists for reads; `_list` for every method (405 with Allow), legacy `list` passes others through.
      return route.variant === "_list" || method === "GET" || method === "HEAD";
    default:
      return false;
  }
}

/** Marks a write let through the read-only window by its lease (the holder's own: `gc --apply`). */
export function markMaintenance(req: IncomingMessage): void {
  proxied(req).rcpMaintenance = true;
}

/** True for a write the read-only window's holder sent (its lease checked by the listener). */
export function isMaintenance(req: IncomingMessage): boolean {
  return proxied(req).rcpMaintenance === true;
}

/** Keeps the parsed route with the request (a field of ProxiedRequest). */
export function setRoute(req: IncomingMessage, route: RouteMatch): void {
  proxied(req).rcpRoute = route;
}

/** The route the listener parsed for `req` (parsed now if it was not). */
export function routeOf(req: IncomingMessage): RouteMatch {
  let route = proxied(req).rcpRoute;
  if (route === undefined) {
    route = parseRoute(req.method ?? "GET", splitPathQuery(req.url ?? "/").path);
    proxied(req).rcpRoute = route;
  }
  return route;
}
