/**
 * The request head the upstream gets from the fast lane: the client's request line
 * (always HTTP/1.1) and headers in order, minus hop-by-hop ones and those the proxy
 * replaces (Host, forwarding headers, request id), plus the proxy's own. Pure.
 */
import type { RequestHead } from "../../http/wire-head.js";
import type { PublicOrigin } from "../forwarding.js";

/** Request headers that never go upstream (hop-by-hop, or replaced by the proxy's own). */
const DROPPED_REQUEST = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "upgrade",
  "forwarded",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-for",
  "x-forwarded-port",
  "x-forwarded-prefix",
  "x-real-ip",
  "x-request-id",
]);

/**
 * The upstream request head (latin1 text, ending with the blank line) for `head`:
 * `Host: upstreamHost`, X-Forwarded-Host/-Proto from the client's `origin`,
 * X-Forwarded-For when `xff` is known, `X-Request-Id: requestId`, keep-alive.
 */
export function buildRequestHead(
  head: RequestHead,
  upstreamHost: string,
  origin: PublicOrigin,
  xff: string | undefined,
  requestId: string,
): string {
  let out = `${head.method} ${head.target} HTTP/1.1\r\nHost: ${upstreamHost}\r\n`;
  const { names, lower, values } = head;
  for (let i = 0; i < names.length; i++) {
    if (!DROPPED_REQUEST.has(lower[i]!)) out += `${names[i]}: ${values[i]}\r\n`;
  }
  out += `X-Forwarded-Host: ${origin.host}\r\nX-Forwarded-Proto: ${origin.proto}\r\n`;
  if (xff !== undefined) out += `X-Forwarded-For: ${xff}\r\n`;
  out += `X-Request-Id: ${requestId}\r\nConnection: keep-alive\r\n\r\n`;
  return out;
}
