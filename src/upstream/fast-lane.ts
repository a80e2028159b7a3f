/**
 * The fast lane: pulls (GET and HEAD of blobs, manifests, catalog, `/v2/`) and the
 * upload requests of a push (POST, PATCH/PUT with a Content-Length body, DELETE)
 * relayed between raw sockets, without Node's HTTP server and client objects.
 *
 * Node's http module costs ~200 µs of CPU per proxied request on this class of
 * machine, more than the whole request costs nginx (issue 7). Here a connection's
 * bytes are read by the lane itself; a clean HTTP/1.1 GET or HEAD head that the
 * proxy does not own is rewritten (the passthrough's forwarding headers, Host,
 * request id) and written to a pooled keep-alive upstream socket; the response
 * head is rewritten (Location/Link, API version, request id, Connection) and the
 * body relayed by its framing (Content-Length, chunked, or to the end); request
 * bodies go by their Content-Length. Large bodies move in the kernel with splice(2)
 * when the native addon is built.
 *
 * Everything else is handed to Node's HTTP server with the bytes read so far, and
 * the connection stays there: other methods, chunked bodies, owned routes (tags API,
 * tag delete, referrers, ops endpoints), upload requests the upload guard answers or
 * redirects, hostile or unusual heads, a head split across reads. Those paths keep
 * every rule they have (400/405/431, Hono, http-proxy-3, the upload guard).
 *
 * This file builds a lane (socket pool, shared LaneContext, keep-alive sweeper) and
 * accepts connections; the rest is in `lane/`: connection.ts (the per-connection
 * state machine), lane-serves.ts (which requests), request-head.ts and
 * response-head.ts (the heads rewritten), request-body.ts and response.ts (bodies
 * relayed or spliced, splice-transfer.ts), upstream-failure.ts, handoff.ts (to
 * Node's server), record.ts (the tracker), client-listeners.ts.
 */
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { LaneAnswers } from "../handlers/lane-answers.js";
import type { OwnershipOptions } from "../handlers/ownership.js";
import type { Readiness } from "../ops/health.js";
import type { RequestTracker } from "../ops/request-tracker.js";
import { attachClient, type LaneSocket } from "./lane/client-listeners.js";
import { Connection } from "./lane/connection.js";
import { type LaneContext, Phase } from "./lane/context.js";
import { SocketPool } from "./socket-pool.js";
import { spliceAvailable } from "./splice.js";
import { STREAM_HIGH_WATER_MARK, socketAddress, type UpstreamTarget } from "./target.js";
import type { UploadSessions } from "./upload-sessions.js";

export { SPLICE_MIN_BYTES } from "./lane/context.js";

export interface FastLaneOptions {
  target: UpstreamTarget;
  tracker: RequestTracker;
  readiness: Readiness;
  trustForwarded: boolean;
  publicUrl: URL | null;
  ownership: OwnershipOptions;
  clientIdleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** metrics.repositoryLabel: requests carry their repository. */
  repositoryLabel: boolean;
  /** Gives a connection (and the bytes already read, unshifted) to Node's HTTP server. */
  handoff(socket: Socket): void;
  onUpstreamError(
    err: NodeJS.ErrnoException,
    info: { method: string; path: string; requestId: string },
  ): void;
  /** Bytes moved by splice(2), which the sockets' own counters do not see. */
  onSpliced?(bytes: number): void;
  /** Chunked-upload sessions (oci.strictUploads), or null: the lane asks and tells them as the passthrough does. */
  uploads: UploadSessions | null;
  /** Owned requests the lane answers itself (the tags lists), or null: all owned requests go to Node. */
  answers: LaneAnswers | null;
  /** Told of each owned answer in progress (the shutdown waits for them). */
  trackWork?(work: Promise<unknown>): void;
}

export interface FastLane {
  accept(socket: Socket): void;
  /** Closes connections waiting for their next request (shutdown). */
  closeIdle(): void;
  /** Destroys every connection (end of the shutdown grace). */
  closeAll(): void;
  close(): void;
  readonly connections: number;
}

/** Whether the lane can serve this upstream (plain http, no path prefix). */
export function fastLaneSupports(target: UpstreamTarget): boolean {
  return (
    !target.isHttps && (target.url.pathname === "/" || target.url.pathname === "") && target.url.search === ""
  );
}

export function createFastLane(o: FastLaneOptions): FastLane {
  const pool = new SocketPool({
    ...socketAddress(o.target),
    maxSockets: Number.MAX_SAFE_INTEGER,
    maxFreeSockets: 256,
    busyIdleMs: o.target.idleTimeoutMs,
    highWaterMark: STREAM_HIGH_WATER_MARK,
  });
  const conns = new Set<Connection>();
  const lane: LaneContext = {
    options: o,
    pool,
    conns,
    splicing: spliceAvailable(),
    upstreamHost: o.target.url.host,
  };

  let sweeper: NodeJS.Timeout | null = null;
  /** Closes keep-alive connections idle for keepAliveTimeoutMs, checked every second at most. */
  function startSweeper(): NodeJS.Timeout | null {
    const limit = o.keepAliveTimeoutMs;
    if (limit <= 0) return null;
    const timer = setInterval(
      () => {
        const now = performance.now();
        for (const c of conns) {
          if (c.phase === Phase.Idle && c.pending === null && now - c.idleSince > limit) c.socket.destroy();
        }
      },
      Math.min(1000, limit),
    );
    timer.unref();
    return timer;
  }

  return {
    accept(socket: LaneSocket) {
      const conn = new Connection(socket, lane);
      conns.add(conn);
      // Inactivity of a busy connection; idle keep-alive ones are swept (no timer per request).
      socket.setTimeout(o.clientIdleTimeoutMs);
      sweeper ??= startSweeper();
      attachClient(socket, conn);
    },
    closeIdle() {
      for (const c of conns) if (c.phase === Phase.Idle && c.pending === null) c.socket.destroy();
    },
    closeAll() {
      for (const c of conns) c.socket.destroy();
    },
    close() {
      pool.close();
      if (sweeper !== null) clearInterval(sweeper);
      sweeper = null;
    },
    get connections() {
      return conns.size;
    },
  };
}
