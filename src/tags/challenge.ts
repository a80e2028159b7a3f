/**
 * Auth answers of the delete path. The swap GETs, PUTs and DELETEs, so it needs
 * `pull,push,delete` on the repository, while the upstream's own challenge names
 * only the scope of the one request that failed. A Bearer challenge is therefore
 * re-issued with the same realm and service (and `error=` when present) but the
 * scope `repository:<name>:pull,push,delete`, so one token fetch gives the client
 * everything the delete needs. A Basic challenge passes unchanged; 403 is DENIED.
 *
 * Pure: parsing and building header values.
 */
import type { IncomingHttpHeaders } from "node:http";
import { OciError } from "../oci/errors.js";

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses one `WWW-Authenticate` value: `Scheme k="v", k2=v2`. */
export function parseChallenge(value: string): Challenge | null {
  const m = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*(.*)$/s.exec(value);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (const p of m[2]!.matchAll(re)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
  }
  return { scheme: m[1]!, params };
}

function quote(v: string): string {
  return `"${v.replace(/["\\]/g, "\\$&")}"`;
}

export const DELETE_ACTIONS = "pull,push,delete";

/** The challenge a tag DELETE answers with, from the upstream's challenge. */
export function widenChallenge(upstreamValue: string, name: string): string {
  const c = parseChallenge(upstreamValue);
  if (c?.scheme.toLowerCase() !== "bearer") return upstreamValue;
  const parts: string[] = [];
  if (c.params["realm"] !== undefined) parts.push(`realm=${quote(c.params["realm"])}`);
  if (c.params["service"] !== undefined) parts.push(`service=${quote(c.params["service"])}`);
  parts.push(`scope=${quote(`repository:${name}:${DELETE_ACTIONS}`)}`);
  if (c.params["error"] !== undefined) parts.push(`error=${quote(c.params["error"])}`);
  return `Bearer ${parts.join(",")}`;
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
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
): OciError {
  if (status === 403) return new OciError("DENIED", undefined, detail);
  const upstream = firstHeader(headers["www-authenticate"]);
  const options = upstream ? { headers: { "www-authenticate": widenChallenge(upstream, name) } } : {};
  return new OciError("UNAUTHORIZED", undefined, detail, options);
}
