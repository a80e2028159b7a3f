/**
 * The two hooks that give chunked uploads the spec's semantics on a 2.8 upstream,
 * around the streaming passthrough (it never buffers a body):
 *
 * - `observe` (response hook): remembers each session's latest Location and
 *   offset from the upstream's 202 (POST, PATCH) and 204 (GET) answers, and
 *   forgets a session once it is completed, cancelled or gone.
 * - `intercept` (before forwarding, one map lookup): on a known session,
 *   - a PATCH, or a closing PUT with a `Content-Range`, whose range does not start
 *     at the current offset, or sent to an earlier Location, gets `416` with the
 *     current `Range` and `Location` (2.8 would append the chunk anyway, then answer
 *     a PUT `400 DIGEST_INVALID`; or answer 404);
 *   - a GET on an earlier Location is forwarded with the latest one, so the
 *     client gets `204` with the current `Range` and `Location` (2.8: 404).
 *   Everything else, and every upload the map does not know, passes untouched.
 *
 * The 416 is checked with the upstream first (a GET of the latest Location with
 * the caller's own credentials): the answer hands out the session's latest
 * `_state`, so only a caller the upstream authorises gets it, and the Range it
 * carries is the upstream's truth. This costs one round trip, on errors only.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { firstHeader } from "../http/headers.js";
import { writeOciError } from "../http/write-error.js";
import { API_VERSION, API_VERSION_HEADER } from "../oci/errors.js";
import type { RouteMatch } from "../oci/routes.js";
import { splitPathQuery } from "../oci/routes.js";
import { formatRange, offsetAfter, parseContentRange } from "../oci/upload-range.js";
import type { Logger } from "../ops/logger.js";
import type { Metrics } from "../ops/metrics.js";
import type { RegistryClient } from "../registry-client/client.js";
import type { HttpResponse } from "../registry-client/http.js";
import { type CallerContext, callerCredentials, callerOrigin } from "./caller-headers.js";
import { rewriteLocation } from "./rewrite.js";
import {
  decideUploadRequest,
  numericHeader,
  type UploadSession,
  type UploadSessions,
  uploadLocation,
  uploadStateOf,
} from "./upload-sessions.js";

type UploadRoute = Extract<RouteMatch, { kind: "upload" }>;

/** Response hook: learns from the upstream's answers to upload requests. Cheap for everything else. */
export function observeUploadResponse(
  sessions: UploadSessions,
  req: Pick<IncomingMessage, "method" | "url" | "headers">,
  route: RouteMatch,
  status: number,
  headers: IncomingHttpHeaders,
): void {
  const method = req.method ?? "";
  if (route.kind === "upload-start") {
    if (method !== "POST" || status !== 202) return;
    const loc = uploadLocation(firstHeader(headers.location), route.name);
    if (!loc) return;
    const offset = offsetAfter(firstHeader(headers.range), {
      method,
      before: 0,
      requestLength: undefined,
      requestRange: undefined,
    });
    sessions.record(route.name, loc.uploadId, loc.pathQuery, offset);
    return;
  }
  if (route.kind !== "upload") return;
  if ((method === "PUT" && status === 201) || (method === "DELETE" && status === 204)) {
    sessions.forget(route.name, route.uploadId);
    return;
  }
  const session = sessions.get(route.name, route.uploadId);
  const state = uploadStateOf(splitPathQuery(req.url ?? "").query);
  const before = session && state !== undefined ? (session.states.get(state) ?? null) : null;
  if (status === 404) {
    // A current state refused: the session is gone (completed elsewhere, cancelled, purged).
    if (session && before !== null && before === session.offset) sessions.forget(route.name, route.uploadId);
    return;
  }
  if (!((method === "PATCH" && status === 202) || (method === "GET" && status === 204))) return;
  const loc = uploadLocation(firstHeader(headers.location), route.name);
  if (!loc || loc.uploadId !== route.uploadId) return;
  const offset = offsetAfter(firstHeader(headers.range), {
    method,
    before: method === "GET" ? (before ?? session?.offset ?? null) : before,
    requestLength: numericHeader(req.headers, "content-length"),
    requestRange: parseContentRange(firstHeader(req.headers["content-range"])),
  });
  sessions.record(route.name, route.uploadId, loc.pathQuery, offset);
}

export interface UploadGuardOptions {
  sessions: UploadSessions;
  registry: RegistryClient;
  caller: CallerContext;
  /** The passthrough, for requests the guard hands back after a look at the upstream. */
  forward(req: IncomingMessage, res: ServerResponse): void;
  logger: Logger;
  metrics: Metrics;
}

export interface UploadGuard {
  /** True when the guard took the request over; false: forward it (its URL may have been updated). */
  intercept(req: IncomingMessage, res: ServerResponse, route: UploadRoute): boolean;
}

export function createUploadGuard(options: UploadGuardOptions): UploadGuard {
  const { sessions, registry, caller, forward, logger, metrics } = options;

  async function answerRangeInvalid(
    req: IncomingMessage,
    res: ServerResponse,
    route: UploadRoute,
    session: UploadSession,
    reason: "stale-location" | "range-mismatch",
  ): Promise<void> {
    let status: HttpResponse;
    try {
      status = await registry
        .as(callerCredentials(req, caller))
        .request({ method: "GET", path: session.latest });
    } catch {
      forward(req, res); // the passthrough reports an unreachable upstream its own way
      return;
    }
    if (status.status === 401 || status.status === 403) {
      const headers: Record<string, string> = { [API_VERSION_HEADER]: API_VERSION };
      for (const h of ["www-authenticate", "content-type"]) {
        const v = firstHeader(status.headers[h]);
        if (v !== undefined) headers[h] = v;
      }
      headers["content-length"] = String(status.body.length);
      res.writeHead(status.status, headers);
      res.end(status.body);
      return;
    }
    if (status.status !== 204) {
      // The session is gone: the upstream answers the original request itself.
      sessions.forget(route.name, route.uploadId);
      forward(req, res);
      return;
    }
    const upstreamLocation = firstHeader(status.headers.location) ?? session.latest;
    const loc = uploadLocation(upstreamLocation, route.name);
    const range = firstHeader(status.headers.range);
    const offset = offsetAfter(range, {
      method: "GET",
      before: session.offset,
      requestLength: undefined,
      requestRange: undefined,
    });
    if (loc) sessions.record(route.name, route.uploadId, loc.pathQuery, offset);
    const requested = parseContentRange(firstHeader(req.headers["content-range"]));
    if (reason === "range-mismatch" && offset !== null && requested?.start === offset) {
      forward(req, res); // the upstream's truth says this chunk is in order after all
      return;
    }
    const origin = callerOrigin(req, caller);
    const location = upstreamLocation.startsWith("/")
      ? origin + upstreamLocation
      : rewriteLocation(upstreamLocation, status.status, registry.origins, origin);
    const currentRange = range ?? (offset !== null ? formatRange(offset) : "0-0");
    metrics.uploadGuard.inc({ answer: reason === "stale-location" ? "stale_location" : "range_mismatch" });
    const headers: Record<string, string> = { location, range: currentRange };
    const uuid = firstHeader(status.headers["docker-upload-uuid"]);
    if (uuid !== undefined) headers["docker-upload-uuid"] = uuid;
    writeOciError(
      res,
      "BLOB_UPLOAD_INVALID",
      reason === "stale-location"
        ? "chunk sent to an earlier location of this upload; continue at the current one"
        : "chunk out of order: Content-Range must start at the upload's current offset",
      { range: currentRange, contentRange: firstHeader(req.headers["content-range"]) ?? null },
      { status: 416, headers },
    );
  }

  return {
    intercept(req, res, route) {
      const session = sessions.get(route.name, route.uploadId);
      if (session === undefined) return false;
      const method = req.method ?? "";
      const state = uploadStateOf(splitPathQuery(req.url ?? "").query);
      const decision = decideUploadRequest(session, method, state, firstHeader(req.headers["content-range"]));
      if (decision.action === "forward") return false;
      if (decision.action === "forward-latest") {
        metrics.uploadGuard.inc({ answer: "stale_status" });
        req.url = decision.url;
        return false;
      }
      answerRangeInvalid(req, res, route, session, decision.reason).catch((err: unknown) => {
        logger.error({ err, url: req.url }, "upload check failed");
        if (!res.headersSent) writeOciError(res, "UNKNOWN", "internal proxy error");
        else res.destroy();
      });
      return true;
    },
  };
}
