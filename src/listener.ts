/**
 * The request listener: every client request enters here. It is counted and
 * timed, refused when its method is outside the API, routed once on the path as
 * the registry reads it (oci/routes.ts parseTarget: decoded once; a target spelt
 * otherwise is forwarded in its canonical spelling, so the upstream routes exactly
 * what every rule here examined); invalid routes
 * are answered here, the requests the proxy owns go to the Hono app, and
 * everything else streams through the passthrough (known upload sessions get the
 * upload guard's look first). Also the passthrough's hooks: what the proxy learns
 * from the upstream's answers and how it reports a failed exchange.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type BodyRateOptions, hasBody, watchBodyRate } from "./http/body-rate.js";
import { markMaintenance, type OwnershipOptions, routeOf, routeRequest } from "./http/routing.js";
import { writeOciError } from "./http/write-error.js";
import { digestRefusal } from "./oci/digest-support.js";
import { API_METHODS, parseTarget, splitPathQuery } from "./oci/routes.js";
import type { ChangeFeed } from "./ops/change-feed.js";
import type { Readiness } from "./ops/health.js";
import type { Logger } from "./ops/logger.js";
import type { Metrics } from "./ops/metrics.js";
import type { PendingWork } from "./ops/pending-work.js";
import { REQUEST_ID_HEADER } from "./ops/request-id.js";
import type { RequestTracker, TrackedResponse } from "./ops/request-tracker.js";
import { isWindowWrite, WINDOW_LEASE_HEADER, type WriteWindow } from "./ops/write-window.js";
import { errorCode, failureKindOf } from "./registry-client/http.js";
import { prepareRangeRequest, replaceRangeAnswer } from "./upstream/blob-range-answer.js";
import { replaceRefusedManifestPut, watchManifestPut } from "./upstream/manifest-put-watch.js";
import type { PassthroughOptions } from "./upstream/passthrough.js";
import { observeUploadResponse, type UploadGuard } from "./upstream/upload-guard.js";
import type { UploadSessions } from "./upstream/upload-sessions.js";

export interface ListenerParts {
  tracker: RequestTracker;
  readiness: Readiness;
  ownership: OwnershipOptions;
  /** The Hono app's Node listener, for the requests the proxy owns. */
  answerOwned(req: IncomingMessage, res: ServerResponse): Promise<unknown>;
  /** Owned requests still being answered (the shutdown waits for them). */
  ownedWork: PendingWork;
  uploadGuard: UploadGuard | null;
  forward(req: IncomingMessage, res: ServerResponse): void;
  /** The read-only window (garbage collection): writes are refused while it is closed. */
  window: WriteWindow;
  metrics: Metrics;
  /** The minimum rate of request bodies (proxy.minBodyRate), or null for none. */
  bodyRate?: BodyRateOptions | null;
}

/**
 * Holds a write while the window is closed (503 UNAVAILABLE with Retry-After; the
 * connection closes, the body is not read) and tracks the writes it lets through.
 * True when the request was answered.
 */
function holdWrite(req: IncomingMessage, res: ServerResponse, path: string, parts: ListenerParts): boolean {
  const { window, metrics } = parts;
  const lease = req.headers[WINDOW_LEASE_HEADER];
  delete req.headers[WINDOW_LEASE_HEADER];
  const holder = window.isHolder(typeof lease === "string" ? lease : undefined);
  if (holder) markMaintenance(req);
  if (window.readOnly() && !holder) {
    window.refuse();
    metrics.writesRefused.inc();
    writeOciError(
      res,
      "UNAVAILABLE",
      "the registry is read-only for maintenance (garbage collection)",
      undefined,
      {
        headers: { "retry-after": String(window.retryAfterSeconds()), connection: "close" },
      },
    );
    return true;
  }
  res.once("close", window.beginWrite(req.method ?? "GET", path));
  return false;
}

export function createRequestListener(
  parts: ListenerParts,
): (req: IncomingMessage, res: TrackedResponse) => void {
  const { tracker, readiness, ownership, answerOwned, ownedWork, uploadGuard, forward } = parts;
  return function listener(req, res) {
    const method = req.method ?? "GET";
    const { route, path, rawPath, upstream } = parseTarget(method, req.url ?? "/");
    // The access log keeps the path as the client spelt it.
    tracker.begin(req, res, rawPath);
    if (parts.bodyRate && hasBody(req)) watchBodyRate(req, res, parts.bodyRate);
    if (readiness.draining) res.setHeader("connection", "close");
    if (!API_METHODS.has(method)) {
      writeOciError(res, "METHOD_UNKNOWN", `method ${method} is not allowed`, undefined, {
        headers: { allow: [...API_METHODS].join(", ") },
      });
      return;
    }
    const { owner } = routeRequest(req, route, ownership);
    if (route.kind === "invalid") {
      // Answered here, before any framework parses the target; the connection is
      // closed so that an unread hostile body is not read as a next request.
      tracker.label(res, route, true);
      writeOciError(res, route.code, route.message, route.detail, {
        head: method === "HEAD",
        headers: { connection: "close" },
      });
      return;
    }
    // A digest 2.8 cannot store (sha512, sha384): refused before anything reaches it.
    const refusal = digestRefusal(method, route, req.url ?? "/");
    if (refusal !== null) {
      tracker.label(res, route, true);
      writeOciError(res, refusal.code, refusal.message, refusal.detail, {
        status: refusal.status,
        head: method === "HEAD",
        headers: method === "PUT" || method === "POST" ? { connection: "close" } : {},
      });
      return;
    }
    // From here on (Hono, the handlers' upstream calls, the passthrough) the target is the canonical one.
    if (upstream !== null) req.url = upstream;
    const owned = owner !== null;
    tracker.label(res, route, owned);
    // The UI's writes (a tag delete) are its POSTs; they wait for the window like the API's.
    const write = owner === "ui" ? method === "POST" : isWindowWrite(route.kind, method);
    if (write && holdWrite(req, res, path, parts)) return;
    if (owned) {
      ownedWork.track(answerOwned(req, res));
      return;
    }
    if (uploadGuard !== null && route.kind === "upload" && uploadGuard.intercept(req, res, route)) return;
    if (route.kind === "blob") {
      const range = req.headers.range;
      if (range !== undefined) prepareRangeRequest(req, range);
    }
    forward(req, res);
    if (route.kind === "manifest" && method === "PUT") watchManifestPut(req);
  };
}

export interface PassthroughHookParts {
  readiness: Readiness;
  changes: ChangeFeed;
  /** Chunked-upload sessions (`oci.strictUploads`), or null. */
  uploads: UploadSessions | null;
  metrics: Metrics;
  logger: Logger;
}

export function passthroughHooks(
  parts: PassthroughHookParts,
): Required<Pick<PassthroughOptions, "onResponse" | "onUpstreamError">> {
  const { readiness, changes, uploads, metrics, logger } = parts;
  return {
    onUpstreamError(err, req) {
      const kind = failureKindOf(errorCode(err));
      metrics.upstreamErrors.inc({ kind });
      const path = splitPathQuery(req.url ?? "/").path;
      const requestId = req.headers[REQUEST_ID_HEADER];
      logger.warn({ code: err.code, kind, method: req.method, path, requestId }, "upstream exchange failed");
    },
    onResponse(req, proxyRes, res) {
      // While draining, the connection closes after this response.
      if (readiness.draining) proxyRes.headers.connection = "close";
      const route = routeOf(req);
      const status = proxyRes.statusCode ?? 0;
      // Answers that cannot be relayed as 2.8 gives them (nothing else pays for this).
      if (status === 416 || status === 206) {
        if (route.kind === "blob" && replaceRangeAnswer(req, res, proxyRes)) return;
      } else if (status === 500 && route.kind === "manifest" && req.method === "PUT") {
        if (replaceRefusedManifestPut(req, res, proxyRes)) return;
      }
      // A manifest written or deleted through the proxy changes the repository's tags.
      const method = req.method;
      if (route.kind === "manifest" && (method === "PUT" || method === "DELETE") && status < 300) {
        void changes.repositoryChanged(route.name);
      }
      if (uploads !== null && (route.kind === "upload" || route.kind === "upload-start")) {
        observeUploadResponse(uploads, req, route, status, proxyRes.headers);
      }
    },
  };
}
