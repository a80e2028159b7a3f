/**
 * Auth answers of the delete path. The swap GETs, PUTs and DELETEs, so it needs
 * `pull,push,delete` on the repository, while the upstream's own challenge names
 * only the scope of the one request that failed. A Bearer challenge is therefore
 * re-issued with the same realm and service (and `error=` when present) but the
 * scope `repository:<name>:pull,push,delete`, so one token fetch gives the client
 * everything the delete needs. A guarded digest delete (delete.digestDeletes:
 * protect) reads tags before it deletes: `pull,delete`. A Basic challenge passes
 * unchanged; 403 is DENIED.
 *
 * Pure: parsing and building header values.
 */
import type { IncomingHttpHeaders } from "node:http";
import { firstHeader } from "../http/headers.js";
import { parseChallenge } from "../oci/auth-challenge.js";
import { OciError } from "../oci/errors.js";

function quote(v: string): string {
  return `"${v.replace(/["\\]/g, "\\$&")}"`;
}

export const DELETE_ACTIONS = "pull,push,delete";

/** What a guarded DELETE by digest needs: reading the tags, then the delete. */
export const DIGEST_DELETE_ACTIONS = "pull,delete";

/** The challenge a tag DELETE (or a guarded digest DELETE) answers with, from the upstream's challenge. */
export function widenChallenge(upstreamValue: string, name: string, actions = DELETE_ACTIONS): string {
  const c = parseChallenge(upstreamValue);
  if (c?.scheme !== "bearer") return upstreamValue;
  const parts: string[] = [];
  if (c.params["realm"] !== undefined) parts.push(`realm=${quote(c.params["realm"])}`);
  if (c.params["service"] !== undefined) parts.push(`service=${quote(c.params["service"])}`);
  parts.push(`scope=${quote(`repository:${name}:${actions}`)}`);
  if (c.params["error"] !== undefined) parts.push(`error=${quote(c.params["error"])}`);
  return `Bearer ${parts.join(",")}`;
}

/**
 * The client's answer for an upstream 401 or 403 met at `step`: 401 UNAUTHORIZED
 * with the (widened) challenge, or 403 DENIED.
 */
export function authFailure(
  status: number,
  headers: IncomingHttpHeaders,
  name: string,
  detail: Record<string, unknown>,
  actions = DELETE_ACTIONS,
): OciError {
  if (status === 403) return new OciError("DENIED", undefined, detail);
  const upstream = firstHeader(headers["www-authenticate"]);
  const options = upstream
    ? { headers: { "www-authenticate": widenChallenge(upstream, name, actions) } }
    : {};
  return new OciError("UNAUTHORIZED", undefined, detail, options);
}
