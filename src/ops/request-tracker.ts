/**
 * Per-request instrumentation for the request listener: request id, in-flight
 * gauge, counters, duration histogram, bytes each way and the access log line.
 *
 * Cheap on every passthrough request: the state lives in fields of a ServerResponse
 * subclass (no WeakMap, no per-request closure), one shared `close` listener does
 * the accounting, and bytes come from the socket's own counters (the delta since
 * the previous response on the same connection), so no body is watched.
 */
import { type IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { API_METHODS, type RouteMatch } from "../oci/routes.js";
import type { AccessFields, AccessLog } from "./logger.js";
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
/**
 * Recorded requests are moved into the metrics at least this often (and at every
 * scrape). Small on purpose: a record held across two young collections is promoted
 * to the old generation, which grows to four times the live heap before a full
 * collection (ops/heap-tuning.ts). With 512, a proxy answering 15,000 tag lists a
 * second held each record for about 33 ms, longer than the 20 ms between young
 * collections, and promoted about 100 KiB at each: 16 MiB of old generation in 4 s
 * (Node 20, --trace-gc); with 32 it stayed flat. Equal labels are still counted
 * once a batch.
 */
export const FLUSH_EVERY = 32;

export interface RequestTrackerOptions {
  metrics: Metrics;
  /** The access log (see createAccessLog). */
  access: AccessLog;
}

/**
 * One finished request, as the access log and the metrics see it: the access line's
 * fields (one object per request serves both) plus what only the metrics read.
 */
export interface RequestRecord extends AccessFields {
  repository: string | undefined;
  /** False when the response did not complete (client gone, upstream broke). */
  finished: boolean;
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
    const socket = req.socket as AccountedSocket;
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    const bytesIn = read - (socket[kRead] ?? 0);
    const bytesOut = written - (socket[kWritten] ?? 0);
    socket[kRead] = read;
    socket[kWritten] = written;
    const path = this.rcpPath;
    const finished = this.writableFinished;
    record({
      requestId: this.rcpRequestId,
      method: req.method ?? "GET",
      path: path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}...` : path,
      status: this.statusCode,
      // Hundredths of a millisecond, as logged; the histogram's buckets are far coarser.
      ms: Math.round((performance.now() - this.rcpStart) * 100) / 100,
      bytesIn,
      bytesOut,
      route: this.rcpRoute,
      remote: socket.remoteAddress,
      aborted: finished ? undefined : true,
      repository: this.rcpRepository,
      finished,
    });
  }

  /**
   * Requests since the last flush. The metrics are updated in batches, before each
   * scrape (`metrics.beforeCollect`) and every FLUSH_EVERY requests: per request,
   * the prom-client calls (label hashing and validation for a counter, a histogram,
   * two byte counters and a gauge) cost more in a busy proxy than the rest of the
   * bookkeeping; in a batch, equal labels are counted once.
   */
  let pending: RequestRecord[] = [];

  function flush(): void {
    metrics.inFlight.set(inFlight);
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    let bytesIn = 0;
    let bytesOut = 0;
    // A new Map each batch, not one kept and cleared: clearing a Map that lives in the
    // old generation allocates its new table there (as a Set's resize does, ops/pending-work.ts).
    const counts = new Map<string, { labels: Record<string, string>; n: number }>();
    for (const r of batch) {
      const method = API_METHODS.has(r.method) ? r.method : "other";
      const status = r.finished ? statusClass(r.status) : "aborted";
      const key = `${r.route}\t${method}\t${status}\t${r.repository ?? ""}`;
      const c = counts.get(key);
      if (c !== undefined) c.n++;
      else {
        const labels: Record<string, string> = { route: r.route, method, status };
        if (r.repository !== undefined) labels["repository"] = r.repository;
        counts.set(key, { labels, n: 1 });
      }
      metrics.duration.observe({ route: r.route, method }, r.ms / 1000);
      bytesIn += r.bytesIn;
      bytesOut += r.bytesOut;
    }
    for (const c of counts.values()) metrics.requests.inc(c.labels, c.n);
    if (bytesIn > 0) metrics.bytes.inc({ direction: "in" }, bytesIn);
    if (bytesOut > 0) metrics.bytes.inc({ direction: "out" }, bytesOut);
  }
  metrics.beforeCollect.add(flush);

  function record(r: RequestRecord): void {
    inFlight--;
    pending.push(r);
    if (pending.length >= FLUSH_EVERY) flush();
    const level = r.route === "ops" ? "debug" : "info";
    if (access.isLevelEnabled(level)) access.write(level, r);
    tracker.afterResponse?.();
  }

  return tracker;
}
