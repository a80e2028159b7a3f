/**
 * The response head the client gets from the fast lane: the upstream's status line
 * and headers in order, with absolute Location/Link URLs naming the upstream
 * rewritten to the client's origin, hop-by-hop headers and the upstream's request
 * id dropped (and Content-Length beside chunked framing), the API version added
 * under `/v2` when missing, then the proxy's request id and Connection. Pure.
 */
import type { ResponseHead } from "../../http/wire-head.js";
import { API_VERSION, API_VERSION_HEADER } from "../../http/write-error.js";
import { rewriteLink, rewriteUrl } from "../rewrite.js";

/** Response headers the proxy sets itself. */
const DROPPED_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "x-request-id"]);

/**
 * What rewriteResponseHead saw, for the upload sessions. Filled in place: a lane
 * connection keeps one for all its requests (no object per response).
 */
export interface ResponseFacts {
  /** The last Location, as relayed (rewritten). */
  location: string | undefined;
  /** The last Range. */
  range: string | undefined;
  /** The upstream sent the API version header itself. */
  apiVersion: boolean;
}

export function createResponseFacts(): ResponseFacts {
  return { location: undefined, range: undefined, apiVersion: false };
}

/**
 * The client's response head (latin1 text, ending with the blank line) for the
 * upstream's `h`. `upstreamOrigins` are the origins rewritten to `clientOrigin`
 * (`proto://host`); `path` is the request's (the API version goes on under `/v2`);
 * `keepAlive` is the client connection's fate. Resets and fills `facts`.
 */
export function rewriteResponseHead(
  h: ResponseHead,
  upstreamOrigins: ReadonlySet<string>,
  clientOrigin: string,
  path: string,
  requestId: string,
  keepAlive: boolean,
  facts: ResponseFacts,
): string {
  let out = `${h.statusLine}\r\n`;
  let location: string | undefined;
  let range: string | undefined;
  let apiVersion = false;
  const { names, lower: lowers, values } = h;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const lower = lowers[i]!;
    if (DROPPED_RESPONSE.has(lower)) continue;
    let value = values[i]!;
    if (lower === "location") value = rewriteUrl(value, upstreamOrigins, clientOrigin);
    else if (lower === "link") value = rewriteLink(value, upstreamOrigins, clientOrigin);
    else if (lower === API_VERSION_HEADER) apiVersion = true;
    else if (lower === "content-length" && h.chunked) continue;
    if (lower === "location") location = value;
    else if (lower === "range") range = value;
    out += `${name}: ${value}\r\n`;
  }
  facts.location = location;
  facts.range = range;
  facts.apiVersion = apiVersion;
  if (!apiVersion && path.startsWith("/v2")) out += `${API_VERSION_HEADER}: ${API_VERSION}\r\n`;
  out += `x-request-id: ${requestId}\r\nconnection: ${keepAlive ? "keep-alive" : "close"}\r\n\r\n`;
  return out;
}
