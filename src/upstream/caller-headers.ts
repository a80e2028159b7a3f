/**
 * Headers for the proxy's own upstream calls made on behalf of a client: the
 * client's credentials (never stronger ones), the forwarding headers that make
 * the upstream build URLs naming the proxy, and the request id.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { asCaller, type Credentials } from "../registry-client/credentials.js";
import { applyForwardingHeaders, requestOrigin } from "./forwarding.js";

export interface CallerContext {
  trustForwarded: boolean;
  publicUrl: URL | null;
}

export function callerHeaders(req: IncomingMessage, ctx: CallerContext): OutgoingHttpHeaders {
  const headers: Record<string, string> = {};
  const auth = req.headers.authorization;
  if (auth) headers["authorization"] = auth;
  const rid = req.headers["x-request-id"];
  if (typeof rid === "string") headers["x-request-id"] = rid;
  const origin = requestOrigin(req, ctx.trustForwarded, ctx.publicUrl);
  applyForwardingHeaders(headers, origin, req.socket.remoteAddress, ctx.trustForwarded);
  return headers;
}

/** The credentials of a call made for the client of `req`: its own headers, its 401s its own to answer. */
export function callerCredentials(req: IncomingMessage, ctx: CallerContext): Credentials {
  return asCaller(callerHeaders(req, ctx));
}

/** The public origin (`proto://host`) the client used, for URLs the proxy builds. */
export function callerOrigin(req: IncomingMessage, ctx: CallerContext): string {
  const o = requestOrigin(req, ctx.trustForwarded, ctx.publicUrl);
  return `${o.proto}://${o.host}`;
}
