/**
 * Which requests the proxy answers itself. Everything else is passed through.
 * Pure: decided from the parsed route and the method, before Hono is involved.
 */
import type { RouteMatch } from "../oci/routes.js";

/** Operational endpoints outside `/v2/`. */
export const OPS_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);

export function ownsRequest(route: RouteMatch, method: string): boolean {
  switch (route.kind) {
    // Tag delete (issue 4): `/tags/<tag>` is the proxy's on every method (405
    // except DELETE); on `/manifests/<ref>` only DELETE by tag. DELETE by digest
    // keeps passing through.
    case "tag":
      return true;
    case "manifest":
      return method === "DELETE" && route.by === "tag";
    case "non-api":
      return OPS_PATHS.has(route.path);
    case "invalid":
      return true;
    default:
      return false;
  }
}
