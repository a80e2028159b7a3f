/**
 * Per-request instrumentation for the raw Node listener: request id, in-flight
 * gauge, counters, duration histogram, bytes each way and the access log line.
 *
 * Kept cheap for the passthrough hot path: the per-request state lives in fields of
 * a ServerResponse subclass (no WeakMap, no per-request closure), one shared `close`
 * listener does the accounting, and bytes come from the socket's own counters (the
 * delta since the previous response on the same connection), so no body is watched.
 */
import { type IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { API_METHODS, type RouteMatch } from "../oci/routes.js";
import type { Logger } from "./logger.js";
import { type Metrics, statusClass } from "./metrics.js";
import { REQUEST_ID_HEADER, requestIdFrom } from "./request-id.js";

/** The response class the server creates (`http.createServer({ ServerResponse })`). */
export class TrackedResponse extends ServerResponse {
  rcpStart = 0;
  rcpRequestId = "";
  rcpPath = "";
  /** Route label: a RouteMatch kind, or `ops` for the operational endpoints. */
  rcpRoute = "invalid";
  rcpRepository: string | undefined = undefined;
}

const kRead = Symbol("rcp.bytesRead");
const kWritten = Symbol("rcp.bytesWritten");
type AccountedSocket = Socket & { [kRead]?: number; [kWritten]?: number };

const MAX_LOGGED_PATH = 1024;

export interface RequestTrackerOptions {
  metrics: Metrics;
  /** The access logger (see createAccessLogger). */
  access: Logger;
}

export interface RequestTracker {
  /** First thing in the listener: id, start time, in-flight, the close listener. */
  begin(req: IncomingMessage, res: TrackedResponse, path: string): void;
  /** Labels the request with its parsed route. */
  label(res: TrackedResponse, route: RouteMatch, owned: boolean): void;
  /** Requests started and not yet closed. */
  readonly inFlight: number;
  /** Called after every response while set (the shutdown closes idle connections there). */
  afterResponse: (() => void) | null;
}

export function createRequestTracker(options: RequestTrackerOptions): RequestTracker {
  const { metrics, access } = options;
  const repositoryLabel = metrics.repositoryLabel;
  let inFlight = 0;

  const tracker: RequestTracker = {
    begin(req, res, path) {
      res.rcpStart = performance.now();
      const id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
      req.headers[REQUEST_ID_HEADER] = id;
      res.setHeader(REQUEST_ID_HEADER, id);
      res.rcpRequestId = id;
      res.rcpPath = path;
      inFlight++;
      metrics.inFlight.inc();
      res.on("close", onClose);
    },
    label(res, route, owned) {
      res.rcpRoute = owned && route.kind === "non-api" ? "ops" : route.kind;
      if (repositoryLabel && "name" in route) res.rcpRepository = route.name;
    },
    get inFlight() {
      return inFlight;
    },
    afterResponse: null,
  };

  function onClose(this: TrackedResponse): void {
    const req = this.req;
    inFlight--;
    metrics.inFlight.dec();
    const ms = performance.now() - this.rcpStart;
    const method = API_METHODS.has(req.method ?? "") ? (req.method as string) : "other";
    const finished = this.writableFinished;
    const status = finished ? statusClass(this.statusCode) : "aborted";
    const route = this.rcpRoute;
    if (this.rcpRepository === undefined) metrics.requests.inc({ route, method, status });
    else metrics.requests.inc({ route, method, status, repository: this.rcpRepository });
    metrics.duration.observe({ route, method }, ms / 1000);

    const socket = req.socket as AccountedSocket;
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    const bytesIn = read - (socket[kRead] ?? 0);
    const bytesOut = written - (socket[kWritten] ?? 0);
    socket[kRead] = read;
    socket[kWritten] = written;
    if (bytesIn > 0) metrics.bytes.inc({ direction: "in" }, bytesIn);
    if (bytesOut > 0) metrics.bytes.inc({ direction: "out" }, bytesOut);

    const level = route === "ops" ? "debug" : "info";
    if (access.isLevelEnabled(level)) {
      const path = this.rcpPath;
      access[level](
        {
          requestId: this.rcpRequestId,
          method: req.method,
          path: path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}...` : path,
          status: this.statusCode,
          ms: Math.round(ms * 100) / 100,
          bytesIn,
          bytesOut,
          route,
          remote: socket.remoteAddress,
          aborted: finished ? undefined : true,
        },
        "request",
      );
    }
    tracker.afterResponse?.();
  }

  return tracker;
}
