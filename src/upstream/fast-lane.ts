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
 */
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { type OwnershipOptions, ownsRequest } from "../handlers/ownership.js";
import {
  ChunkedScanner,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  responseHasBody,
} from "../http/wire-head.js";
import { API_VERSION, API_VERSION_HEADER, rawOciError, upstreamFailureAnswer } from "../http/write-error.js";
import { parseRoute, type RouteMatch, splitPathQuery } from "../oci/routes.js";
import type { Readiness } from "../ops/health.js";
import { requestIdFrom } from "../ops/request-id.js";
import { markAccounted, type RequestTracker } from "../ops/request-tracker.js";
import { clientOrigin, forwardedFor } from "./forwarding.js";
import { rewriteLink, rewriteUrl } from "./rewrite.js";
import { type PooledSocket, SocketPool, type UpstreamUser } from "./socket-pool.js";
import { spliceAvailable, spliceBody } from "./splice.js";
import { STREAM_HIGH_WATER_MARK, type UpstreamTarget } from "./target.js";
import { observeUploadResponse } from "./upload-guard.js";
import { decideUploadRequest, type UploadSessions, uploadStateOf } from "./upload-sessions.js";

/** Bodies at least this large (after the first read) move with splice(2) when available. */
export const SPLICE_MIN_BYTES = 1024 * 1024;
const MAX_REQUEST_HEAD = 16 * 1024;
const MAX_RESPONSE_HEAD = 64 * 1024;
/** Pipelined bytes buffered while a request is served before reading pauses. */
const MAX_PENDING = 64 * 1024;

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
/** Response headers the proxy sets itself. */
const DROPPED_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "x-request-id"]);

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

enum Phase {
  Idle,
  Connecting,
  AwaitHead,
  Body,
  Splicing,
  Closed,
}

enum Mode {
  None,
  Length,
  Chunked,
  UntilClose,
}

export function createFastLane(o: FastLaneOptions): FastLane {
  const pool = new SocketPool({
    host: o.target.url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(o.target.url.port || 80),
    maxSockets: Number.MAX_SAFE_INTEGER,
    maxFreeSockets: 256,
    busyIdleMs: o.target.idleTimeoutMs,
    highWaterMark: STREAM_HIGH_WATER_MARK,
  });
  const upstreamHost = o.target.url.host;
  const conns = new Set<Connection>();
  const splicing = spliceAvailable();

  class Connection implements UpstreamUser {
    phase = Phase.Idle;
    pending: Buffer | null = null;
    clientEnded = false;
    // The request being served.
    method = "GET";
    path = "";
    route = "";
    repository: string | undefined = undefined;
    requestId = "";
    start = 0;
    origin = "";
    upstreamHead = "";
    retried = false;
    keepAlive = true;
    routeMatch: RouteMatch | null = null;
    target = "";
    contentLength = 0;
    contentRange: string | undefined = undefined;
    /** Request body bytes still to go upstream, and whether splice(2) is moving them. */
    reqRemaining = 0;
    reqSplicing = false;
    reqSpliced = 0;
    // Its response.
    up: PooledSocket | null = null;
    responseHead: Buffer | null = null;
    status = 0;
    headWritten = false;
    mode = Mode.None;
    remaining = 0;
    scanner: ChunkedScanner | null = null;
    upstreamReusable = true;
    spliced = 0;
    /** When the connection last became idle (the keep-alive sweep closes it after keepAliveTimeoutMs). */
    idleSince = performance.now();
    readMark = 0;
    writtenMark = 0;

    constructor(readonly socket: Socket) {
      this.readMark = socket.bytesRead;
      this.writtenMark = socket.bytesWritten;
    }

    onData(chunk: Buffer): void {
      if (this.reqRemaining > 0 && this.up !== null && !this.reqSplicing && this.phase !== Phase.Closed) {
        this.bodyData(chunk);
        return;
      }
      this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
      if (this.phase === Phase.Idle) this.next();
      else if (this.pending.length > MAX_PENDING) this.socket.pause();
    }

    onEnd(): void {
      this.clientEnded = true;
      if (this.reqRemaining > 0 && !this.reqSplicing && this.phase !== Phase.Idle) {
        // The body will never be complete: abandon the exchange.
        this.socket.destroy();
        return;
      }
      if (this.phase === Phase.Idle) this.socket.end();
    }

    onClientClose(): void {
      conns.delete(this);
      const busy = this.phase !== Phase.Idle && this.phase !== Phase.Closed;
      this.phase = Phase.Closed;
      if (busy) {
        // The client went away mid-exchange: stop the upstream transfer too.
        const up = this.up;
        this.up = null;
        if (up !== null) pool.discard(up);
        this.record(false);
      }
    }

    onDrain(): void {
      if (this.phase === Phase.Body) this.up?.resume();
    }

    /** Serves the next request in `pending`, or hands the connection over. */
    next(): void {
      const buf = this.pending;
      if (buf === null) return;
      const r = parseRequestHead(buf, MAX_REQUEST_HEAD);
      if (r.kind !== "head") {
        this.handoff();
        return;
      }
      const head = r.head;
      const { path, query } = splitPathQuery(head.target);
      const route = parseRoute(head.method, path);
      if (!laneServes(head, route, query)) {
        this.handoff();
        return;
      }
      this.pending = r.end === buf.length ? null : buf.subarray(r.end);
      this.routeMatch = route;
      this.begin(head, path, route.kind, "name" in route ? route.name : undefined);
    }

    handoff(): void {
      const s = this.socket;
      if (this.clientEnded) {
        // The client's FIN was read while a request was served: its bytes cannot go back
        // (unshift after 'end' destroys the socket), and Node's server aborts requests
        // that come before a FIN anyway. End the connection cleanly instead.
        this.pending = null;
        s.end();
        return;
      }
      conns.delete(this);
      this.phase = Phase.Closed;
      detachClient(s);
      s.setTimeout(0);
      s.pause();
      markAccounted(s, this.pending?.length ?? 0);
      if (this.pending !== null) s.unshift(this.pending);
      this.pending = null;
      // Node's server then reads through 'data' events, so the unshifted bytes come first.
      const handle = (s as Socket & { _handle?: { _consumed?: boolean } })._handle;
      if (handle) handle._consumed = true;
      o.handoff(s);
      s.resume();
    }

    begin(head: RequestHead, path: string, route: string, repository: string | undefined): void {
      this.phase = Phase.Connecting;
      this.start = performance.now();
      o.tracker.open();
      this.method = head.method;
      this.target = head.target;
      this.contentLength = head.contentLength;
      this.contentRange = head.contentRange;
      this.reqRemaining = head.contentLength;
      this.reqSpliced = 0;
      this.path = path;
      this.route = route;
      this.repository = o.repositoryLabel ? repository : undefined;
      const id = requestIdFrom(head.requestId);
      this.requestId = id;
      // After the client's FIN, the last pipelined request closes the connection.
      this.keepAlive = !head.close && !(this.clientEnded && this.pending === null);
      const origin = clientOrigin(
        {
          host: head.host,
          forwarded: head.forwarded,
          "x-forwarded-host": head.xForwardedHost,
          "x-forwarded-proto": head.xForwardedProto,
        },
        false,
        o.trustForwarded,
        o.publicUrl,
      );
      this.origin = `${origin.proto}://${origin.host}`;
      let out = `${head.method} ${head.target} HTTP/1.1\r\nHost: ${upstreamHost}\r\n`;
      const { names, lower, values } = head;
      for (let i = 0; i < names.length; i++) {
        if (!DROPPED_REQUEST.has(lower[i]!)) out += `${names[i]}: ${values[i]}\r\n`;
      }
      const xff = forwardedFor(head.xForwardedFor, this.socket.remoteAddress, o.trustForwarded);
      out += `X-Forwarded-Host: ${origin.host}\r\nX-Forwarded-Proto: ${origin.proto}\r\n`;
      if (xff !== undefined) out += `X-Forwarded-For: ${xff}\r\n`;
      out += `X-Request-Id: ${id}\r\nConnection: keep-alive\r\n\r\n`;
      this.upstreamHead = out;
      this.retried = false;
      // A body cannot be sent twice: requests with one get a new connection (no stale reuse to retry).
      this.send(this.reqRemaining > 0);
    }

    send(fresh: boolean): void {
      this.responseHead = null;
      this.headWritten = false;
      this.upstreamReusable = true;
      this.spliced = 0;
      pool.acquire(this, this.acquired, fresh);
    }

    /** The pool's answer to send(), bound once per connection (no closure per request). */
    readonly acquired = (err: Error | null, up: PooledSocket | null): void => {
      if (err !== null || up === null) {
        this.fail(err as NodeJS.ErrnoException);
        return;
      }
      if (this.phase === Phase.Closed) {
        pool.discard(up);
        return;
      }
      this.up = up;
      this.phase = Phase.AwaitHead;
      up.write(this.upstreamHead, "latin1");
      if (this.reqRemaining > 0) this.sendBody(up);
    };

    /** The request body: what came with the head, then the rest (in the kernel when large). */
    sendBody(up: PooledSocket): void {
      const first = this.pending;
      if (first !== null) {
        const n = Math.min(first.length, this.reqRemaining);
        up.write(n === first.length ? first : first.subarray(0, n));
        this.pending = n === first.length ? null : first.subarray(n);
        this.reqRemaining -= n;
      }
      if (this.reqRemaining >= SPLICE_MIN_BYTES && splicing) {
        // The kernel needs the connected descriptor: until then the body goes on in JS.
        if (up.connecting) up.once("connect", () => this.spliceRequestRest(up));
        else this.spliceRequestRest(up);
      }
    }

    /** Client bytes while a request body is still going upstream (the JS path). */
    bodyData(chunk: Buffer): void {
      const up = this.up as PooledSocket;
      const n = Math.min(chunk.length, this.reqRemaining);
      this.reqRemaining -= n;
      if (n < chunk.length) {
        // A pipelined next request: kept for after the response.
        const rest = chunk.subarray(n);
        this.pending = this.pending === null ? rest : Buffer.concat([this.pending, rest]);
      }
      if (!up.write(n === chunk.length ? chunk : chunk.subarray(0, n)) && this.reqRemaining > 0)
        this.socket.pause();
    }

    onUpstreamDrain(): void {
      if (this.reqRemaining > 0 && !this.reqSplicing && this.socket.isPaused()) this.socket.resume();
    }

    spliceRequestRest(up: PooledSocket): void {
      if (this.up !== up || up.destroyed || this.socket.destroyed || this.reqRemaining < SPLICE_MIN_BYTES)
        return;
      // Bytes Node already read (a paused socket keeps reading up to its high-water mark) go
      // first: read() hands them to the 'data' listener (onData → bodyData), in order.
      while (this.socket.readableLength > 0 && this.socket.read() !== null) {
        // each chunk went through onData
      }
      if (this.reqRemaining < SPLICE_MIN_BYTES) {
        this.socket.resume();
        return;
      }
      this.socket.resume();
      this.reqSplicing = true;
      void this.transfer(this.socket, up, up, this.reqRemaining).then(({ moved, err }) => {
        this.reqSplicing = false;
        this.reqSpliced += moved;
        this.reqRemaining -= moved;
        if (err === null) return;
        if (this.phase === Phase.Connecting || this.phase === Phase.AwaitHead || this.phase === Phase.Body)
          this.fail(err);
        else if (!this.socket.destroyed) this.socket.destroy();
      });
    }

    /**
     * Moves `total` bytes from `from` to `to` (the client and `up`, one way or the
     * other) in the kernel. Socket timers see no activity meanwhile, so they are off,
     * the addon's own idle limit in their place, and back on afterwards.
     */
    async transfer(
      from: Socket,
      to: Socket,
      up: PooledSocket,
      total: number,
    ): Promise<{ moved: number; err: NodeJS.ErrnoException | null }> {
      this.socket.setTimeout(0);
      up.setTimeout(0);
      try {
        const moved = await spliceBody(from, to, total, { idleTimeoutMs: o.clientIdleTimeoutMs });
        if (!this.socket.destroyed) this.socket.setTimeout(o.clientIdleTimeoutMs);
        if (!up.destroyed) pool.rearm(up);
        o.onSpliced?.(moved);
        return { moved, err: null };
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { bytesMoved?: number };
        const moved = err.bytesMoved ?? 0;
        o.onSpliced?.(moved);
        return { moved, err };
      }
    }

    onUpstreamData(chunk: Buffer): void {
      if (this.phase === Phase.Body) {
        this.relay(chunk, 0);
        return;
      }
      if (this.phase !== Phase.AwaitHead) return;
      const buf = this.responseHead === null ? chunk : Buffer.concat([this.responseHead, chunk]);
      const r = parseResponseHead(buf, MAX_RESPONSE_HEAD);
      if (r.kind === "incomplete") {
        this.responseHead = buf;
        return;
      }
      this.responseHead = null;
      if (r.kind === "invalid") {
        this.fail(Object.assign(new Error(r.reason), { code: "EPROTO" }) as NodeJS.ErrnoException);
        return;
      }
      const h = r.head;
      if (h.status < 200) {
        // Interim response (103 Early Hints and the like): not relayed, the final one follows.
        if (r.end < buf.length) this.onUpstreamData(buf.subarray(r.end));
        return;
      }
      this.status = h.status;
      const hasBody = responseHasBody(this.method, h.status);
      this.mode = !hasBody
        ? Mode.None
        : h.chunked
          ? Mode.Chunked
          : h.contentLength >= 0
            ? Mode.Length
            : Mode.UntilClose;
      this.remaining = this.mode === Mode.Length ? h.contentLength : 0;
      this.scanner = this.mode === Mode.Chunked ? new ChunkedScanner() : null;
      if (this.scanner !== null && r.end < buf.length) {
        // Head and first body bytes leave corked together: a malformed chunk in them would
        // destroy the socket before the head is sent (an empty reply). Answer 502 instead.
        const probe = new ChunkedScanner();
        probe.feed(buf, r.end);
        if (probe.error !== null) {
          this.fail(Object.assign(new Error(probe.error), { code: "EPROTO" }) as NodeJS.ErrnoException);
          return;
        }
      }
      this.upstreamReusable = !h.close && this.mode !== Mode.UntilClose;
      if (o.readiness.draining || this.mode === Mode.UntilClose) this.keepAlive = false;

      let out = `${h.statusLine}\r\n`;
      let location: string | undefined;
      let range: string | undefined;
      let apiVersion = false;
      const { names, values } = h;
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const lower = h.lower[i]!;
        if (DROPPED_RESPONSE.has(lower)) continue;
        let value = values[i]!;
        if (lower === "location") value = rewriteUrl(value, o.target.origins, this.origin);
        else if (lower === "link") value = rewriteLink(value, o.target.origins, this.origin);
        else if (lower === API_VERSION_HEADER) apiVersion = true;
        else if (lower === "content-length" && h.chunked) continue;
        if (lower === "location") location = value;
        else if (lower === "range") range = value;
        out += `${name}: ${value}\r\n`;
      }
      const route = this.routeMatch;
      if (
        o.uploads !== null &&
        route !== null &&
        (route.kind === "upload" || route.kind === "upload-start")
      ) {
        const request = {
          method: this.method,
          url: this.target,
          headers: {
            "content-length": String(this.contentLength),
            "content-range": this.contentRange,
          },
        };
        observeUploadResponse(o.uploads, request, route, h.status, { location, range });
      }
      if (!apiVersion && this.path.startsWith("/v2")) out += `${API_VERSION_HEADER}: ${API_VERSION}\r\n`;
      out += `x-request-id: ${this.requestId}\r\nconnection: ${this.keepAlive ? "keep-alive" : "close"}\r\n\r\n`;
      this.headWritten = true;
      this.phase = Phase.Body;

      const bodyStart = r.end;
      if (
        splicing &&
        this.mode === Mode.Length &&
        this.remaining - (buf.length - bodyStart) >= SPLICE_MIN_BYTES &&
        this.up !== null
      ) {
        const first = buf.subarray(bodyStart, Math.min(buf.length, bodyStart + this.remaining));
        this.remaining -= first.length;
        this.socket.write(first.length === 0 ? out : Buffer.concat([Buffer.from(out, "latin1"), first]));
        this.spliceRest(this.up);
        return;
      }
      const socket = this.socket;
      if (this.mode === Mode.None) {
        socket.write(out, "latin1");
        if (bodyStart < buf.length) this.upstreamReusable = false;
        this.finish();
        return;
      }
      const inBuffer = buf.length - bodyStart;
      if (this.mode === Mode.Length && inBuffer >= this.remaining) {
        // The whole (small) response is here: one buffer, one write.
        const bodyEnd = bodyStart + this.remaining;
        const headLength = out.length;
        const whole = Buffer.allocUnsafe(headLength + this.remaining);
        whole.write(out, 0, headLength, "latin1");
        buf.copy(whole, headLength, bodyStart, bodyEnd);
        this.remaining = 0;
        if (bodyEnd < buf.length) this.upstreamReusable = false;
        socket.write(whole);
        this.finish();
        return;
      }
      if (bodyStart < buf.length) {
        // Head and first body bytes leave in one write (writev).
        socket.cork();
        socket.write(out, "latin1");
        this.relay(buf, bodyStart);
        socket.uncork();
      } else {
        socket.write(out, "latin1");
        if (this.mode === Mode.Length && this.remaining === 0) this.finish();
      }
    }

    /** Relays body bytes of `chunk` from `start` by the response's framing. */
    relay(chunk: Buffer, start: number): void {
      let end = chunk.length;
      let complete = false;
      if (this.mode === Mode.Length) {
        end = Math.min(chunk.length, start + this.remaining);
        this.remaining -= end - start;
        complete = this.remaining === 0;
      } else if (this.mode === Mode.Chunked) {
        const scanner = this.scanner as ChunkedScanner;
        end = scanner.feed(chunk, start);
        if (scanner.error !== null) {
          this.fail(Object.assign(new Error(scanner.error), { code: "EPROTO" }) as NodeJS.ErrnoException);
          return;
        }
        complete = scanner.done;
      }
      if (end < chunk.length) this.upstreamReusable = false;
      if (end > start) {
        const part = start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
        if (!this.socket.write(part) && !complete) this.up?.pause();
      }
      if (complete) this.finish();
    }

    /** The rest of a large response body moves in the kernel. */
    spliceRest(up: PooledSocket): void {
      this.phase = Phase.Splicing;
      void this.transfer(up, this.socket, up, this.remaining).then(({ moved, err }) => {
        this.spliced += moved;
        if (this.phase !== Phase.Splicing) return;
        if (err !== null) {
          this.fail(err);
          return;
        }
        this.remaining = 0;
        this.phase = Phase.Body;
        this.finish();
      });
    }

    onUpstreamGone(err: NodeJS.ErrnoException): void {
      // The splice owns both sockets until it settles, and reports its own failure.
      if (this.phase === Phase.Splicing) return;
      const up = this.up;
      this.up = null;
      if (up !== null) pool.discard(up);
      if (this.phase === Phase.Body && this.mode === Mode.UntilClose && err.code === "EOF") {
        this.finish();
        return;
      }
      // A reused socket the upstream had closed: try once more on a new connection.
      const stale = err.code === "EOF" || err.code === "ECONNRESET" || err.code === "EPIPE";
      if (
        this.phase === Phase.AwaitHead &&
        this.responseHead === null &&
        stale &&
        up?.rcpReused &&
        !this.retried
      ) {
        this.retried = true;
        this.phase = Phase.Connecting;
        this.send(true);
        return;
      }
      this.fail(err);
    }

    fail(err: NodeJS.ErrnoException): void {
      if (this.phase === Phase.Closed || this.phase === Phase.Idle) return;
      o.onUpstreamError(err, { method: this.method, path: this.path, requestId: this.requestId });
      const up = this.up;
      this.up = null;
      if (up !== null) pool.discard(up);
      if (this.headWritten) {
        // Mid-body: the client must see a broken transfer, not a short one.
        this.phase = Phase.Closed;
        this.record(false);
        conns.delete(this);
        this.socket.destroy();
        return;
      }
      const answer = upstreamFailureAnswer(err.code);
      this.status = answer.status;
      this.keepAlive =
        this.keepAlive && !o.readiness.draining && this.reqRemaining === 0 && !this.reqSplicing;
      this.socket.write(
        rawOciError(
          answer.status,
          "UNAVAILABLE",
          answer.message,
          answer.detail,
          { "x-request-id": this.requestId, connection: this.keepAlive ? "keep-alive" : "close" },
          this.method === "HEAD",
        ),
      );
      this.finish();
    }

    finish(): void {
      if (this.reqRemaining > 0 || this.reqSplicing) {
        // Answered before the whole request body arrived (an early error): neither
        // connection can be reused, the rest of the body must not be read as a request.
        this.upstreamReusable = false;
        this.keepAlive = false;
      }
      const up = this.up;
      this.up = null;
      if (up !== null) {
        if (this.upstreamReusable) {
          up.resume();
          pool.release(up);
        } else pool.discard(up);
      }
      this.record(true);
      this.phase = Phase.Idle;
      if (!this.keepAlive || o.readiness.draining) {
        if (this.reqRemaining > 0 || this.reqSplicing) {
          this.phase = Phase.Closed;
          this.socket.destroySoon();
        } else this.socket.end();
        return;
      }
      this.idleSince = performance.now();
      if (this.socket.isPaused()) this.socket.resume();
      if (this.pending !== null) this.next();
      else if (this.clientEnded) this.socket.end(); // a FIN read mid-request: nothing more will come
    }

    record(finished: boolean): void {
      const s = this.socket;
      const read = s.bytesRead;
      const written = s.bytesWritten;
      o.tracker.close({
        method: this.method,
        path: this.path,
        requestId: this.requestId,
        route: this.route,
        repository: this.repository,
        status: this.status,
        finished,
        ms: performance.now() - this.start,
        bytesIn: read - this.readMark + this.reqSpliced,
        bytesOut: written - this.writtenMark + this.spliced,
        remote: s.remoteAddress,
      });
      this.readMark = read;
      this.writtenMark = written;
      this.spliced = 0;
      this.reqSpliced = 0;
    }
  }

  /**
   * The requests the lane serves: GET and HEAD passthrough outside uploads, and the
   * upload requests of a push (POST to start, PATCH and PUT with a Content-Length body,
   * DELETE to cancel) that the upload guard would forward untouched. Everything else is
   * Node's (owned routes, other passthrough methods, upload status GETs, requests the
   * guard answers itself or redirects).
   */
  function laneServes(head: RequestHead, route: RouteMatch, query: string): boolean {
    if (route.kind === "invalid" || ownsRequest(route, head.method, o.ownership)) return false;
    const method = head.method;
    if (route.kind === "upload-start") return method === "POST";
    if (route.kind === "upload") {
      if (method !== "PATCH" && method !== "PUT" && method !== "DELETE") return false;
      if (o.uploads === null) return true;
      const session = o.uploads.get(route.name, route.uploadId);
      if (session === undefined) return true;
      const decision = decideUploadRequest(session, method, uploadStateOf(query), head.contentRange);
      return decision.action === "forward";
    }
    return method === "GET" || method === "HEAD";
  }

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

  type LaneSocket = Socket & { rcpLane?: Connection };
  function onData(this: LaneSocket, chunk: Buffer) {
    this.rcpLane?.onData(chunk);
  }
  function onEnd(this: LaneSocket) {
    this.rcpLane?.onEnd();
  }
  function onClose(this: LaneSocket) {
    this.rcpLane?.onClientClose();
  }
  function onDrain(this: LaneSocket) {
    this.rcpLane?.onDrain();
  }
  function onError(this: LaneSocket) {
    this.destroy();
  }
  function onTimeout(this: LaneSocket) {
    this.destroy();
  }
  const CLIENT_LISTENERS: ReadonlyArray<[string, (this: LaneSocket, chunk: Buffer) => void]> = [
    ["data", onData],
    ["end", onEnd],
    ["close", onClose],
    ["drain", onDrain],
    ["error", onError],
    ["timeout", onTimeout],
  ];
  function detachClient(s: LaneSocket) {
    s.rcpLane = undefined;
    for (const [event, listener] of CLIENT_LISTENERS) s.removeListener(event, listener);
  }

  return {
    accept(socket: LaneSocket) {
      const conn = new Connection(socket);
      conns.add(conn);
      socket.rcpLane = conn;
      // Inactivity of a busy connection; idle keep-alive ones are swept (no timer per request).
      socket.setTimeout(o.clientIdleTimeoutMs);
      sweeper ??= startSweeper();
      for (const [event, listener] of CLIENT_LISTENERS) socket.on(event, listener);
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
