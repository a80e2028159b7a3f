/**
 * One client connection in the fast lane: a state machine over its requests
 * (Phase), reading heads from the client's bytes, serving those laneServes()
 * accepts on a pooled upstream socket and handing the connection to Node's HTTP
 * server at the first one it does not. Requests on a connection are served one at
 * a time; pipelined bytes wait in `pending`.
 *
 * Hot path: a Connection (and its `facts`) is allocated per client connection,
 * never per request. Its methods are on the prototype and the pool's callback
 * (`acquired`) is bound once per connection; the steps with a job of their own
 * (bodies, response relay, failures, handoff, the tracker record) are plain
 * functions in the sibling modules taking the connection, so no closures either.
 * What the lane's connections share comes in `lane`.
 */
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { ChunkedScanner } from "../../http/chunked.js";
import { parseRequestHead, parseResponseHead, type RequestHead } from "../../http/wire-head.js";
import { parseRoute, type RouteMatch, splitPathQuery } from "../../oci/routes.js";
import { requestIdFrom } from "../../ops/request-id.js";
import { clientOrigin, forwardedFor, type PublicOrigin } from "../forwarding.js";
import type { PooledSocket, UpstreamUser } from "../socket-pool.js";
import {
  type LaneContext,
  MAX_PENDING,
  MAX_REQUEST_HEAD,
  MAX_RESPONSE_HEAD,
  Mode,
  Phase,
  protocolError,
} from "./context.js";
import { handOff } from "./handoff.js";
import { laneServes } from "./lane-serves.js";
import { answerOwned } from "./owned-answer.js";
import { recordExchange } from "./record.js";
import { relayRequestBody, sendRequestBody } from "./request-body.js";
import { buildRequestHead } from "./request-head.js";
import { relayResponseBody, startResponse } from "./response.js";
import { createResponseFacts } from "./response-head.js";
import { failExchange, upstreamGone } from "./upstream-failure.js";

export class Connection implements UpstreamUser {
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
  /** Location and Range of the response head, for the upload sessions (reused per request). */
  readonly facts = createResponseFacts();
  /** When the connection last became idle (the keep-alive sweep closes it after keepAliveTimeoutMs). */
  idleSince = performance.now();
  readMark = 0;
  writtenMark = 0;

  constructor(
    readonly socket: Socket,
    readonly lane: LaneContext,
  ) {
    this.readMark = socket.bytesRead;
    this.writtenMark = socket.bytesWritten;
  }

  onData(chunk: Buffer): void {
    if (this.reqRemaining > 0 && this.up !== null && !this.reqSplicing && this.phase !== Phase.Closed) {
      relayRequestBody(this, chunk);
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
    this.lane.conns.delete(this);
    const busy = this.phase !== Phase.Idle && this.phase !== Phase.Closed;
    this.phase = Phase.Closed;
    if (busy) {
      // The client went away mid-exchange: stop the upstream transfer too.
      const up = this.up;
      this.up = null;
      if (up !== null) this.lane.pool.discard(up);
      recordExchange(this, false);
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
      handOff(this);
      return;
    }
    const head = r.head;
    const { path, query } = splitPathQuery(head.target);
    const route = parseRoute(head.method, path);
    const o = this.lane.options;
    const answers = o.answers;
    if (answers?.handles(route, head.method)) {
      this.pending = r.end === buf.length ? null : buf.subarray(r.end);
      this.routeMatch = route;
      answerOwned(this, answers, head, path, query, route);
      return;
    }
    if (!laneServes(head, route, query, o.ownership, o.uploads)) {
      handOff(this);
      return;
    }
    this.pending = r.end === buf.length ? null : buf.subarray(r.end);
    this.routeMatch = route;
    this.begin(head, path, route.kind, "name" in route ? route.name : undefined);
  }

  /** Relays the request upstream (passthrough). */
  begin(head: RequestHead, path: string, route: string, repository: string | undefined): void {
    this.phase = Phase.Connecting;
    const origin = this.open(head, path, route, repository);
    const xff = forwardedFor(head.xForwardedFor, this.socket.remoteAddress, this.lane.options.trustForwarded);
    this.upstreamHead = buildRequestHead(head, this.lane.upstreamHost, origin, xff, this.requestId);
    this.retried = false;
    // A body cannot be sent twice: requests with one get a new connection (no stale reuse to retry).
    this.send(this.reqRemaining > 0);
  }

  /** The bookkeeping every request starts with (tracker, request id, keep-alive); returns the client's origin. */
  open(head: RequestHead, path: string, route: string, repository: string | undefined): PublicOrigin {
    const o = this.lane.options;
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
    return origin;
  }

  send(fresh: boolean): void {
    this.responseHead = null;
    this.headWritten = false;
    this.upstreamReusable = true;
    this.spliced = 0;
    this.lane.pool.acquire(this, this.acquired, fresh);
  }

  /** The pool's answer to send(), bound once per connection (no closure per request). */
  readonly acquired = (err: Error | null, up: PooledSocket | null): void => {
    if (err !== null || up === null) {
      failExchange(this, err as NodeJS.ErrnoException);
      return;
    }
    if (this.phase === Phase.Closed) {
      this.lane.pool.discard(up);
      return;
    }
    this.up = up;
    this.phase = Phase.AwaitHead;
    up.write(this.upstreamHead, "latin1");
    if (this.reqRemaining > 0) sendRequestBody(this, up);
  };

  onUpstreamGone(err: NodeJS.ErrnoException): void {
    upstreamGone(this, err);
  }

  onUpstreamDrain(): void {
    if (this.reqRemaining > 0 && !this.reqSplicing && this.socket.isPaused()) this.socket.resume();
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.phase === Phase.Body) {
      relayResponseBody(this, chunk, 0);
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
      failExchange(this, protocolError(r.reason));
      return;
    }
    if (r.head.status < 200) {
      // Interim response (103 Early Hints and the like): not relayed, the final one follows.
      if (r.end < buf.length) this.onUpstreamData(buf.subarray(r.end));
      return;
    }
    startResponse(this, r.head, buf, r.end);
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
        this.lane.pool.release(up);
      } else this.lane.pool.discard(up);
    }
    recordExchange(this, true);
    this.phase = Phase.Idle;
    if (!this.keepAlive || this.lane.options.readiness.draining) {
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
}
