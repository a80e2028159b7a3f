/**
 * The proxy's own upstream calls (tags list, capability probes, the tag swap) as
 * raw HTTP/1.1 on pooled keep-alive sockets: the same `UpstreamClient` contract
 * as client.ts (types, error kinds and messages, header record), without Node's
 * ClientRequest/IncomingMessage/Agent, which cost more CPU and latency per call
 * than the rest of a cold tags page. Plain http upstreams only (no TLS); the
 * server uses it where the fast lane runs (fastLaneSupports).
 *
 * Per call: one request head (raw-request-head.ts) and the body in one write on
 * a socket from the client's own SocketPool; the response head parsed by
 * wire-head.ts, 1xx skipped, the body read by Content-Length, chunked
 * (chunked-decoder.ts) or to the close, under the body cap; headers folded as
 * Node folds them (fold-headers.ts). Timeouts share one timer (DeadlineTimer).
 *
 * Reuse and retries: a socket goes back to the pool only after a complete,
 * exactly framed response where neither side asked to close. GET and HEAD take
 * a free socket, and when a reused one fails before any response byte (the
 * upstream closed it as it was being reused) they are sent once more on a new
 * connection. Every other request (PUT, DELETE, anything with a body) gets a new
 * connection and is never retried: a tag swap's DELETE or PUT is sent exactly
 * once, and it cannot meet a stale keep-alive socket, so it is not failed by one.
 */
import type { IncomingHttpHeaders } from "node:http";
import { performance } from "node:perf_hooks";
import { ChunkedDecoder } from "../http/chunked-decoder.js";
import { foldHeaders } from "../http/fold-headers.js";
import { parseResponseHead, responseHasBody } from "../http/wire-head.js";
import { DeadlineTimer, type Expiring } from "../util/deadline-timer.js";
import {
  MAX_BODY_BYTES,
  type UpstreamClient,
  UpstreamError,
  type UpstreamRequest,
  type UpstreamResponse,
} from "./client.js";
import { buildRequestHead } from "./raw-request-head.js";
import { type PooledSocket, SocketPool, type UpstreamUser } from "./socket-pool.js";
import { STREAM_HIGH_WATER_MARK, type UpstreamTarget } from "./target.js";

/** Node's default maxHeaderSize: a larger response head is an error there too. */
export const MAX_RESPONSE_HEAD = 16 * 1024;

export interface RawUpstreamClient extends UpstreamClient {
  /** Closes the free sockets and refuses new calls (calls in flight finish). */
  close(): void;
}

enum Mode {
  None,
  Length,
  Chunked,
  UntilClose,
}

function classify(code: string | undefined): UpstreamError["kind"] {
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH") return "unreachable";
  return "reset";
}

/** A malformed response: reported by its reason, as kind "reset". */
function protocolError(reason: string): NodeJS.ErrnoException {
  return new Error(reason);
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
    host: target.url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(target.url.port || 80),
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
    // The response being read.
    headBytes: Buffer | null = null;
    inBody = false;
    status = 0;
    headers: IncomingHttpHeaders = {};
    mode = Mode.None;
    remaining = 0;
    decoder: ChunkedDecoder | null = null;
    parts: Buffer[] = [];
    size = 0;
    reusable = true;

    constructor(
      readonly req: UpstreamRequest,
      readonly head: string,
      readonly limit: number,
      readonly timeoutMs: number,
      readonly resolve: (res: UpstreamResponse) => void,
      readonly reject: (err: unknown) => void,
    ) {
      this.deadline = performance.now() + timeoutMs;
      this.retryable = (req.method === "GET" || req.method === "HEAD") && req.body === undefined;
    }

    start(): void {
      deadlines.add(this);
      this.req.signal?.addEventListener("abort", this.onAbort, { once: true });
      this.send(!this.retryable);
    }

    send(fresh: boolean): void {
      this.headBytes = null;
      this.inBody = false;
      this.reusable = true;
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
      if (this.inBody) {
        this.readBody(chunk, 0);
        return;
      }
      const buf = this.headBytes === null ? chunk : Buffer.concat([this.headBytes, chunk]);
      this.readHead(buf);
    }

    readHead(buf: Buffer): void {
      const r = parseResponseHead(buf, MAX_RESPONSE_HEAD);
      if (r.kind === "incomplete") {
        this.headBytes = buf;
        return;
      }
      if (r.kind === "invalid") {
        this.transportFailed(protocolError(r.reason));
        return;
      }
      const h = r.head;
      if (h.status < 200) {
        if (h.status === 101) {
          this.transportFailed(protocolError("unexpected protocol switch"));
          return;
        }
        // Interim response (100 Continue, 103 Early Hints): the final one follows.
        this.headBytes = null;
        if (r.end < buf.length) this.readHead(buf.subarray(r.end));
        else this.headBytes = Buffer.alloc(0);
        return;
      }
      this.status = h.status;
      this.headers = foldHeaders(h.lower, h.values);
      this.reusable = !h.close && !(h.chunked && h.contentLength !== -1);
      this.inBody = true;
      if (!responseHasBody(this.req.method, h.status)) this.mode = Mode.None;
      else if (h.chunked) {
        this.mode = Mode.Chunked;
        this.decoder = new ChunkedDecoder();
      } else if (h.contentLength >= 0) {
        if (h.contentLength > this.limit) {
          this.tooLarge();
          return;
        }
        this.mode = Mode.Length;
        this.remaining = h.contentLength;
      } else {
        this.mode = Mode.UntilClose;
        this.reusable = false;
      }
      if (this.mode === Mode.None || (this.mode === Mode.Length && this.remaining === 0)) {
        if (r.end < buf.length) this.reusable = false;
        this.complete();
        return;
      }
      if (r.end < buf.length) this.readBody(buf, r.end);
    }

    /** Body bytes of `chunk` from `start`, by the response's framing. */
    readBody(chunk: Buffer, start: number): void {
      if (this.mode === Mode.Chunked) {
        const decoder = this.decoder as ChunkedDecoder;
        const end = decoder.feed(chunk, start);
        if (decoder.error !== null) {
          this.transportFailed(protocolError(decoder.error));
          return;
        }
        if (decoder.bytes > this.limit) {
          this.tooLarge();
          return;
        }
        if (!decoder.done) return;
        if (end < chunk.length) this.reusable = false;
        this.parts = decoder.parts;
        this.size = decoder.bytes;
        this.complete();
        return;
      }
      let end = chunk.length;
      if (this.mode === Mode.Length) end = Math.min(end, start + this.remaining);
      const n = end - start;
      if (n > 0) {
        this.parts.push(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end));
        this.size += n;
      }
      if (this.mode === Mode.UntilClose) {
        if (this.size > this.limit) this.tooLarge();
        return;
      }
      this.remaining -= n;
      if (this.remaining > 0) return;
      if (end < chunk.length) this.reusable = false;
      this.complete();
    }

    onUpstreamGone(err: NodeJS.ErrnoException): void {
      const s = this.socket;
      this.socket = null;
      if (s !== null) pool.discard(s);
      if (this.settled) return;
      if (this.inBody && this.mode === Mode.UntilClose && err.code === "EOF") {
        this.complete();
        return;
      }
      // A reused socket the upstream closed just as it was reused: once more on a new one.
      const stale = err.code === "EOF" || err.code === "ECONNRESET" || err.code === "EPIPE";
      if (
        stale &&
        this.retryable &&
        !this.retried &&
        !this.inBody &&
        this.headBytes === null &&
        s?.rcpReused === true
      ) {
        this.retried = true;
        this.send(true);
        return;
      }
      this.transportFailed(err);
    }

    /** A socket error or a malformed response: before the head "failed", after it "broke". */
    transportFailed(err: NodeJS.ErrnoException): void {
      const what = err.code ?? err.message;
      if (this.inBody) this.fail(new UpstreamError(`upstream response broke: ${what}`, "reset"));
      else this.fail(new UpstreamError(`upstream ${this.req.method} failed: ${what}`, classify(err.code)));
    }

    tooLarge(): void {
      this.fail(new UpstreamError(`upstream body exceeds ${this.limit} bytes`, "too-large"));
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

    complete(): void {
      if (this.settled) return;
      this.settle();
      const s = this.socket;
      this.socket = null;
      if (s !== null) {
        if (this.reusable) {
          s.unref();
          pool.release(s);
        } else pool.discard(s);
      }
      const parts = this.parts;
      const body =
        parts.length === 0
          ? Buffer.alloc(0)
          : parts.length === 1
            ? parts[0]!
            : Buffer.concat(parts, this.size);
      this.resolve({ status: this.status, headers: this.headers, body });
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
