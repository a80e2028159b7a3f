/**
 * The routing table: who answers a request, decided once, here. A request the
 * proxy owns goes to one named handler (handlers/index.ts maps the names to
 * functions); everything else passes through. The decision is pure: made from
 * the parsed route and the method, before Hono is involved, and carried with
 * the raw request from the listener to the Hono app, so the path is parsed and
 * the owner decided once.
 */
import type { IncomingMessage } from "node:http";
import { parseRoute, type RouteMatch, splitPathQuery } from "../oci/routes.js";
import { proxied } from "./proxied-request.js";

/** Operational endpoints outside `/v2/`. */
export const OPS_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);

/** Where the web UI lives (`ui.enabled`): `/ui` and everything under `/ui/`. */
export const UI_PREFIX = "/ui";

/** Whether `path` is the web UI's. */
export function isUiPath(path: string): boolean {
  return path === UI_PREFIX || path.startsWith(`${UI_PREFIX}/`);
}

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
  /** `ui.enabled`: the web UI under `/ui/`, and `/` for browsers (sent on to `/ui/`). */
  ui?: boolean;
  /** `catalog.listEmpty` false: `GET /v2/_catalog` leaves out repositories without tags. */
  catalogFilter?: boolean;
}

/** What routing reads of a request besides its route and method. */
export interface RequestHints {
  /** The client asks for HTML (`Accept: text/html`): a browser. */
  acceptsHtml?: boolean;
}

/** Which manifest writes the immutable tag guard must see (README "Immutable tags"). */
export interface ImmutableScope {
  /** A PUT to this tag. */
  coversTag(name: string, tag: string): boolean;
  /** A DELETE by digest in this repository. */
  coversRepository(name: string): boolean;
}

/** The `/v2/` handlers, by the routes each one answers. */
export interface V2Routes {
  /** `tags/_list` (every method: 405 with Allow but GET and HEAD) and `tags/list` (GET, HEAD). */
  "tags-list": Extract<RouteMatch, { kind: "tags-list" }>;
  /** `/tags/<tag>` (every method: 405 with Allow but DELETE) and DELETE `/manifests/<tag>`. */
  "tag-delete": Extract<RouteMatch, { kind: "tag" | "manifest" }>;
  /** PUT `/manifests/<reference>` (referrers, immutable tags). */
  "manifest-put": Extract<RouteMatch, { kind: "manifest" }>;
  /** DELETE `/manifests/<digest>` (referrers, immutable tags). */
  "manifest-delete": Extract<RouteMatch, { kind: "manifest" }>;
  /** `DELETE /v2/<name>`: the repository delete (every tag, one by one). */
  "repo-delete": Extract<RouteMatch, { kind: "repository" }>;
  /** GET and HEAD (else 405) `/referrers/<digest>`. */
  referrers: Extract<RouteMatch, { kind: "referrers" }>;
  /** GET `/v2/_catalog` (catalog.listEmpty false; other methods pass through). */
  catalog: Extract<RouteMatch, { kind: "catalog" }>;
}

export type V2Owner = keyof V2Routes;

/**
 * Who answers: `ops` (/healthz, /readyz, /metrics), `ui` (the web UI), a `/v2/`
 * handler, or `invalid` (the listener's own 4xx).
 */
export type Owner = "ops" | "ui" | "invalid" | V2Owner;

const DEFAULT_OWNERSHIP: OwnershipOptions = { referrers: true };

function manifestOwner(
  route: Extract<RouteMatch, { kind: "manifest" }>,
  method: string,
  o: OwnershipOptions,
): Owner | null {
  // DELETE by tag: the tag delete, whatever else is on.
  if (method === "DELETE" && route.by === "tag") return "tag-delete";
  if (method !== "PUT" && method !== "DELETE") return null;
  const owner = method === "PUT" ? "manifest-put" : "manifest-delete";
  // PUT and DELETE by digest: kept in step with the referrers index.
  if (o.referrers) return owner;
  // Protected digest deletes: the DELETE by digest, and PUTs by tag (the tag writes it races).
  if (o.protectDigestDeletes && (method === "DELETE" || route.by === "tag")) return owner;
  // The tag history: a PUT to a tag and a DELETE by digest change tags.
  if (o.history && (method === "DELETE" || route.by === "tag")) return owner;
  // Immutable tags: PUT to a covered tag, DELETE by digest in a covered repository.
  if (!o.immutable) return null;
  if (method === "PUT")
    return route.by === "tag" && o.immutable.coversTag(route.name, route.reference) ? owner : null;
  return o.immutable.coversRepository(route.name) ? owner : null;
}

/**
 * Outside `/v2/`: the operational endpoints; with the UI on, `/ui` and below, and
 * a browser's GET of `/` (health checkers keep the registry's own empty 200).
 */
function nonApiOwner(path: string, method: string, o: OwnershipOptions, hints: RequestHints): Owner | null {
  if (OPS_PATHS.has(path)) return "ops";
  if (!o.ui) return null;
  if (isUiPath(path)) return "ui";
  return path === "/" && (method === "GET" || method === "HEAD") && hints.acceptsHtml ? "ui" : null;
}

/** The routing table: the owner of a request, or null when it passes through to the upstream. */
export function ownerOf(
  route: RouteMatch,
  method: string,
  o: OwnershipOptions = DEFAULT_OWNERSHIP,
  hints: RequestHints = {},
): Owner | null {
  switch (route.kind) {
    case "invalid":
      return "invalid";
    case "non-api":
      return nonApiOwner(route.path, method, o, hints);
    case "tag":
      return "tag-delete";
    case "repository":
      return "repo-delete";
    case "tags-list":
      // Both lists for reads; `_list` for every method, legacy `list` passes the others through.
      return route.variant === "_list" || method === "GET" || method === "HEAD" ? "tags-list" : null;
    case "referrers":
      return o.referrers ? "referrers" : null;
    case "manifest":
      return manifestOwner(route, method, o);
    case "catalog":
      return o.catalogFilter && method === "GET" ? "catalog" : null;
    default:
      return null;
  }
}

/** Whether the proxy answers the request itself (its owner is not the upstream). */
export function ownsRequest(
  route: RouteMatch,
  method: string,
  o: OwnershipOptions = DEFAULT_OWNERSHIP,
): boolean {
  return ownerOf(route, method, o) !== null;
}

/** Marks a write let through the read-only window by its lease (the holder's own: `gc --apply`). */
export function markMaintenance(req: IncomingMessage): void {
  proxied(req).rcpMaintenance = true;
}

/** True for a write the read-only window's holder sent (its lease checked by the listener). */
export function isMaintenance(req: IncomingMessage): boolean {
  return proxied(req).rcpMaintenance === true;
}

/** A request as routed: its parsed route and its owner. */
export interface Routed {
  route: RouteMatch;
  owner: Owner | null;
}

/** Whether an Accept header asks for HTML (a browser navigating). */
export function acceptsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /(?:^|,)\s*text\/html\s*(?:[;,]|$)/i.test(accept);
}

const NO_HINTS: RequestHints = {};

/** Routes `req` once (the listener): its route and owner travel with it (fields of ProxiedRequest). */
export function routeRequest(req: IncomingMessage, route: RouteMatch, o: OwnershipOptions): Routed {
  // The Accept header matters only for `/` with the UI on (a browser): not read for the rest.
  const hints =
    route.kind === "non-api" && o.ui ? { acceptsHtml: acceptsHtml(req.headers.accept) } : NO_HINTS;
  const owner = ownerOf(route, req.method ?? "GET", o, hints);
  const fields = proxied(req);
  fields.rcpRoute = route;
  fields.rcpOwner = owner;
  return { route, owner };
}

/** How `req` was routed (routed now if the listener did not). */
export function routedOf(req: IncomingMessage, o: OwnershipOptions = DEFAULT_OWNERSHIP): Routed {
  const { rcpRoute, rcpOwner } = proxied(req);
  if (rcpRoute !== undefined && rcpOwner !== undefined)
    return { route: rcpRoute, owner: rcpOwner as Owner | null };
  return routeRequest(req, parseRoute(req.method ?? "GET", splitPathQuery(req.url ?? "/").path), o);
}

/** The route `req` was parsed to. */
export function routeOf(req: IncomingMessage): RouteMatch {
  return routedOf(req).route;
}
