/**
 * Which requests the proxy answers itself. Everything else is passed through.
 * Pure: decided from the parsed route and the method, before Hono is involved.
 */
import type { RouteMatch } from "../oci/routes.js";

/** Operational endpoints outside `/v2/`. */
export const OPS_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);

export function ownsRequest(route: RouteMatch, method: string): boolean {
  switch (route.kind) {
    case "non-api":
      return OPS_PATHS.has(route.path);
    case "invalid":
      return true;
    case "tags-list":
      // Both lists for reads; `_list` for every method (405 with Allow), legacy `list` passes others through.
      return route.variant === "_list" || method === "GET" || method === "HEAD";
    default:
      return false;
  }
}
