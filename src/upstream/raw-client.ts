/**
 * The proxy's own upstream calls (tags list, capability probes, the tag swap) as
 * raw HTTP/1.1 on pooled keep-alive sockets: the same `UpstreamClient` contract
 * as client.ts (types, error kinds and messages, header record), without Node's
 * ClientRequest/IncomingMessage/Agent, which cost more CPU and latency per call
 * than the rest of a cold tags page. Plain http upstreams only (no TLS); the
 * server uses it where the fast lane runs (fastLaneSupports).
 *
 * Per call: one request head (raw-request-head.ts) and the body in one write on
 * a socket from the client's own SocketPool; the response read by raw-response.ts
 * (head, 1xx skipped, body by its framing under the cap, headers folded as Node
 * folds them). Timeouts share one timer (DeadlineTimer), not one per call.
 *
 * Reuse and retries: a socket goes back to the pool only after a complete,
 * exactly framed response where neither side asked to close. GET and HEAD take
 * a free socket, and when a reused one fails before any response byte (the
 * upstream closed it as it was being reused) they are sent once more on a new
 * connection. Every other request (PUT, DELETE, anything with a body) gets a new
 * connection and is never retried: a tag swap's DELETE or PUT is sent exactly
 * once, and it cannot meet a stale keep-alive socket, so it is not failed by one.
 */
import { performance } from "node:perf_hooks";
import { DeadlineTimer, type Expiring } from "../util/deadline-timer.js";
import {
  classifyTransportError,
  MAX_BODY_BYTES,
  type UpstreamClient,
  UpstreamError,
  type UpstreamRequest,
  type UpstreamResponse,
} from "./client.js";
import { buildRequestHead } from "./raw-request-head.js";
import { ResponseReader } from "./raw-response.js";
import { type PooledSocket, SocketPool, type UpstreamUser } from "./socket-pool.js";
import { STREAM_HIGH_WATER_MARK, socketAddress, type UpstreamTarget } from "./target.js";

export interface RawUpstreamClient extends UpstreamClient {
  /** Closes the free sockets and refuses new calls (calls in flight finish). */
  close(): void;
}

/** Whether a raw client can serve this upstream (plain http). */
export function rawClientSupports(target: UpstreamTarget): boolean {
  return !target.isHttps && target.url.search === "";
}

export function createRawUpstreamClient(target: UpstreamTarget): RawUpstreamClient {
  if (!rawClientSupports(target)) throw new Error(`raw upstream client: unsupported upstream ${target.url}`);
  const host = target.url.host;
  const prefix = target.url.pathname.replace(/\/+$/, "");
  const pool = new SocketPool({
    ...socketAddress(target),
    maxSockets: target.agent.maxSockets,
    maxFreeSockets: target.agent.maxFreeSockets,
    // As Node's keep-alive agent: no socket inactivity limit; calls have their own timeout.
    busyIdleMs: 0,
    highWaterMark: STREAM_HIGH_WATER_MARK,
  });
  const deadlines = new DeadlineTimer();

  class Exchange implements UpstreamUser, Expiring {
    readonly deadline: number;
    readonly retryable: boolean;
    socket: PooledSocket | null = null;
    settled = false;
    retried = false;
    reader: ResponseReader;

    constructor(
      readonly req: UpstreamRequest,
      readonly head: string,
      readonly limit: number,
      readonly timeoutMs: number,
      readonly resolve: (res: UpstreamResponse) => void,
      readonly reject: (err: unknown) => void,
    ) {
      this.deadline = performance.now() + timeoutMs;
      this.reader = new ResponseReader(req.method, limit);
      this.retryable = (req.method === "GET" || req.method === "HEAD") && req.body === undefined;
    }

    start(): void {
      deadlines.add(this);
      this.req.signal?.addEventListener("abort", this.onAbort, { once: true });
      this.send(!this.retryable);
    }

    send(fresh: boolean): void {
      pool.acquire(this, this.acquired, fresh);
    }

    readonly acquired = (err: Error | null, s: PooledSocket | null): void => {
      if (err !== null || s === null) {
        this.transportFailed(err as NodeJS.ErrnoException);
        return;
      }
      if (this.settled) {
        // Timed out or aborted while waiting for a socket: nothing was written on it.
        s.unref();
        pool.release(s);
        return;
      }
      this.socket = s;
      s.ref();
      const body = this.req.body;
      if (body === undefined || body.length === 0) s.write(this.head, "latin1");
      else {
        s.cork();
        s.write(this.head, "latin1");
        s.write(body);
        s.uncork();
      }
    };

    readonly onAbort = (): void => this.fail(new UpstreamError("request aborted by the client", "aborted"));

    expire(): void {
      this.fail(
        new UpstreamError(
          `upstream did not answer ${this.req.method} within ${this.timeoutMs} ms`,
          "timeout",
        ),
      );
    }

    onUpstreamData(chunk: Buffer): void {
      if (this.settled) return;
      const r = this.reader.feed(chunk);
      switch (r.kind) {
        case "more":
          return;
        case "done":
          this.complete(r.response, r.reusable);
          return;
        case "malformed":
          this.transportFailed(new Error(r.reason));
          return;
        case "too-large":
          this.fail(new UpstreamError(`upstream body exceeds ${this.limit} bytes`, "too-large"));
          return;
      }
    }

    onUpstreamGone(err: NodeJS.ErrnoException): void {
      const s = this.socket;
      this.socket = null;
      if (s !== null) pool.discard(s);
      if (this.settled) return;
      const ended = err.code === "EOF" ? this.reader.end() : null;
      if (ended?.kind === "done") {
        this.complete(ended.response, false);
        return;
      }
      // A reused socket the upstream closed just as it was reused: once more on a new one.
      const stale = err.code === "EOF" || err.code === "ECONNRESET" || err.code === "EPIPE";
      if (stale && this.retryable && !this.retried && !this.reader.started && s?.rcpReused === true) {
        this.retried = true;
        this.reader = new ResponseReader(this.req.method, this.limit);
        this.send(true);
        return;
      }
      this.transportFailed(err);
    }

    /** A socket error or a malformed response: before the head "failed", after it "broke". */
    transportFailed(err: NodeJS.ErrnoException): void {
      const what = err.code ?? err.message;
      if (this.reader.inBody) this.fail(new UpstreamError(`upstream response broke: ${what}`, "reset"));
      else
        this.fail(
          new UpstreamError(`upstream ${this.req.method} failed: ${what}`, classifyTransportError(err.code)),
        );
    }

    settle(): void {
      this.settled = true;
      deadlines.delete(this);
      this.req.signal?.removeEventListener("abort", this.onAbort);
    }

    fail(e: UpstreamError): void {
      if (this.settled) return;
      this.settle();
      const s = this.socket;
      this.socket = null;
      if (s !== null) pool.discard(s);
      this.reject(e);
    }

    complete(response: UpstreamResponse, reusable: boolean): void {
      if (this.settled) return;
      this.settle();
      const s = this.socket;
      this.socket = null;
      if (s !== null) {
        if (reusable) {
          s.unref();
          pool.release(s);
        } else pool.discard(s);
      }
      this.resolve(response);
    }
  }

  function request(req: UpstreamRequest): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (req.signal?.aborted) {
        reject(new UpstreamError("request aborted by the client", "aborted"));
        return;
      }
      const body = req.body;
      const head = buildRequestHead({
        method: req.method,
        path: prefix + req.path,
        host,
        headers: req.headers,
        contentLength:
          body !== undefined ? body.length : req.method === "GET" || req.method === "HEAD" ? -1 : 0,
      });
      const limit = req.maxBodyBytes ?? MAX_BODY_BYTES;
      const timeoutMs = req.timeoutMs ?? target.requestTimeoutMs;
      new Exchange(req, head, limit, timeoutMs, resolve, reject).start();
    });
  }

  return {
    request,
    target,
    close() {
      // Calls in flight keep their deadlines (the timer is unref'd).
      pool.close();
    },
  };
}
