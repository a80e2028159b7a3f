/**
 * Which requests the fast lane serves (the rest go to Node's HTTP server). Pure,
 * given the upload sessions.
 */
import { type OwnershipOptions, ownsRequest } from "../../handlers/ownership.js";
import type { RequestHead } from "../../http/wire-head.js";
import type { RouteMatch } from "../../oci/routes.js";
import { decideUploadRequest, type UploadSessions, uploadStateOf } from "../upload-sessions.js";

/**
 * GET and HEAD passthrough outside uploads, and the upload requests of a push (POST
 * to start, PATCH and PUT with a Content-Length body, DELETE to cancel) that the
 * upload guard would forward untouched. Everything else is Node's (owned routes,
 * other passthrough methods, upload status GETs, requests the guard answers itself
 * or redirects). `query` is the raw query string; `uploads` null when
 * oci.strictUploads is off.
 */
export function laneServes(
  head: RequestHead,
  route: RouteMatch,
  query: string,
  ownership: OwnershipOptions,
  uploads: UploadSessions | null,
): boolean {
  if (route.kind === "invalid" || ownsRequest(route, head.method, ownership)) return false;
  const method = head.method;
  if (route.kind === "upload-start") return method === "POST";
  if (route.kind === "upload") {
    if (method !== "PATCH" && method !== "PUT" && method !== "DELETE") return false;
    if (uploads === null) return true;
    const session = uploads.get(route.name, route.uploadId);
    if (session === undefined) return true;
    const decision = decideUploadRequest(session, method, uploadStateOf(query), head.contentRange);
    return decision.action === "forward";
  }
  return method === "GET" || method === "HEAD";
}
