/**
 * Which origin the client used to reach the proxy, and the one clean set of
 * forwarding headers the upstream gets, so that the absolute URLs it builds
 * (upload and manifest `Location`) name the proxy (registry-2.8 notes §7).
 *
 * Pure functions over header records, and requestOrigin, which reads them off a request.
 */
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { firstHeader } from "../http/headers.js";

export interface PublicOrigin {
  proto: "http" | "https";
  host: string;
}

/** The first element of a comma-separated header value, trimmed (undefined when empty). */
export function firstValue(v: string | string[] | undefined): string | undefined {
  const s = firstHeader(v);
  if (s === undefined) return undefined;
  const first = s.split(",")[0]!.trim();
  return first === "" ? undefined : first;
}

const HOST_RE = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/;

function cleanHost(h: string | undefined): string | undefined {
  return h !== undefined && HOST_RE.test(h) ? h : undefined;
}

function cleanProto(p: string | undefined): "http" | "https" | undefined {
  const lower = p?.toLowerCase();
  return lower === "http" || lower === "https" ? lower : undefined;
}

/** Parses the first element of an RFC 7239 `Forwarded` header into host and proto. */
export function parseForwarded(value: string | undefined): { host?: string; proto?: string } {
  if (!value) return {};
  const first = value.split(",")[0]!;
  const out: { host?: string; proto?: string } = {};
  for (const pair of first.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1) continue;
    const k = pair.slice(0, eq).trim().toLowerCase();
    let v = pair.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (k === "host") out.host = v;
    else if (k === "proto") out.proto = v;
  }
  return out;
}

/**
 * The origin the client used. With `trustForwarded`, a `Forwarded` header wins,
 * then X-Forwarded-Host/-Proto (first values); otherwise only Host and whether the
 * client's own connection is TLS count. `publicUrl` overrides everything.
 */
export function clientOrigin(
  headers: IncomingHttpHeaders,
  encrypted: boolean,
  trustForwarded: boolean,
  publicUrl: URL | null,
): PublicOrigin {
  if (publicUrl) return { proto: publicUrl.protocol === "https:" ? "https" : "http", host: publicUrl.host };
  let proto: "http" | "https" = encrypted ? "https" : "http";
  let host = cleanHost(headers.host) ?? "localhost";
  if (trustForwarded) {
    const fwd = parseForwarded(headers.forwarded);
    const fh = cleanHost(fwd.host ?? firstValue(headers["x-forwarded-host"]));
    const fp = cleanProto(fwd.proto ?? firstValue(headers["x-forwarded-proto"]));
    if (fh) host = fh;
    if (fp) proto = fp;
  }
  return { proto, host };
}

/** The origin the client of `req` used (clientOrigin with the connection's TLS state). */
export function requestOrigin(
  req: IncomingMessage,
  trustForwarded: boolean,
  publicUrl: URL | null,
): PublicOrigin {
  const encrypted = Boolean((req.socket as TLSSocket).encrypted);
  return clientOrigin(req.headers, encrypted, trustForwarded, publicUrl);
}

/**
 * The X-Forwarded-For the upstream gets: the client's peer address, after the first
 * address the client sent only when forwarding headers are trusted (undefined without a peer).
 */
export function forwardedFor(
  prior: string | string[] | undefined,
  remoteAddress: string | undefined,
  trustForwarded: boolean,
): string | undefined {
  if (!remoteAddress) return undefined;
  const first = trustForwarded ? firstValue(prior) : undefined;
  return first ? `${first}, ${remoteAddress}` : remoteAddress;
}

/** Forwarding headers of the client that never reach the upstream (replaced by the clean set). */
const DROPPED: readonly string[] = ["forwarded", "x-forwarded-port", "x-forwarded-prefix", "x-real-ip"];

/**
 * Replaces the client's forwarding headers with one clean set describing `origin`.
 * Mutates and returns `headers` (the passthrough hot path avoids a copy).
 */
export function applyForwardingHeaders(
  headers: IncomingHttpHeaders,
  origin: PublicOrigin,
  remoteAddress: string | undefined,
  trustForwarded: boolean,
): IncomingHttpHeaders {
  const xff = forwardedFor(headers["x-forwarded-for"], remoteAddress, trustForwarded);
  // `delete` only for names present: per request on the passthrough, and most requests have none.
  for (let i = 0; i < DROPPED.length; i++) {
    const name = DROPPED[i]!;
    if (name in headers) delete headers[name];
  }
  headers["x-forwarded-host"] = origin.host;
  headers["x-forwarded-proto"] = origin.proto;
  if (xff !== undefined) headers["x-forwarded-for"] = xff;
  else if ("x-forwarded-for" in headers) delete headers["x-forwarded-for"];
  return headers;
}
