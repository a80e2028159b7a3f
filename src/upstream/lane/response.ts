/**
 * The upstream's response on a lane connection, once its head is parsed: the body's
 * framing (Content-Length, chunked, or to the end) and whether the upstream socket
 * can be reused, the head rewritten for the client (response-head.ts), the upload
 * sessions told, then the body relayed by its framing, or moved in the kernel when
 * it is SPLICE_MIN_BYTES or more and splice(2) is available.
 */
import { ChunkedScanner } from "../../http/chunked.js";
import { type ResponseHead, responseHasBody } from "../../http/wire-head.js";
import type { PooledSocket } from "../socket-pool.js";
import { observeUploadResponse } from "../upload-guard.js";
import type { Connection } from "./connection.js";
import { Mode, Phase, protocolError, SPLICE_MIN_BYTES } from "./context.js";
import { rewriteResponseHead } from "./response-head.js";
import { spliceTransfer } from "./splice-transfer.js";
import { failExchange } from "./upstream-failure.js";

/** Answers the client with the final response head `h`; its body starts at `bodyStart` of `buf`. */
export function startResponse(c: Connection, h: ResponseHead, buf: Buffer, bodyStart: number): void {
  const o = c.lane.options;
  c.status = h.status;
  const hasBody = responseHasBody(c.method, h.status);
  c.mode = !hasBody
    ? Mode.None
    : h.chunked
      ? Mode.Chunked
      : h.contentLength >= 0
        ? Mode.Length
        : Mode.UntilClose;
  c.remaining = c.mode === Mode.Length ? h.contentLength : 0;
  c.scanner = c.mode === Mode.Chunked ? new ChunkedScanner() : null;
  if (c.scanner !== null && bodyStart < buf.length) {
    // Head and first body bytes leave corked together: a malformed chunk in them would
    // destroy the socket before the head is sent (an empty reply). Answer 502 instead.
    const probe = new ChunkedScanner();
    probe.feed(buf, bodyStart);
    if (probe.error !== null) {
      failExchange(c, protocolError(probe.error));
      return;
    }
  }
  c.upstreamReusable = !h.close && c.mode !== Mode.UntilClose;
  if (o.readiness.draining || c.mode === Mode.UntilClose) c.keepAlive = false;

  const facts = c.facts;
  const out = rewriteResponseHead(h, o.target.origins, c.origin, c.path, c.requestId, c.keepAlive, facts);
  const route = c.routeMatch;
  if (o.uploads !== null && route !== null && (route.kind === "upload" || route.kind === "upload-start")) {
    const request = {
      method: c.method,
      url: c.target,
      headers: {
        "content-length": String(c.contentLength),
        "content-range": c.contentRange,
      },
    };
    observeUploadResponse(o.uploads, request, route, h.status, {
      location: facts.location,
      range: facts.range,
    });
  }
  c.headWritten = true;
  c.phase = Phase.Body;

  if (
    c.lane.splicing &&
    c.mode === Mode.Length &&
    c.remaining - (buf.length - bodyStart) >= SPLICE_MIN_BYTES &&
    c.up !== null
  ) {
    const first = buf.subarray(bodyStart, Math.min(buf.length, bodyStart + c.remaining));
    c.remaining -= first.length;
    c.socket.write(first.length === 0 ? out : Buffer.concat([Buffer.from(out, "latin1"), first]));
    spliceResponseRest(c, c.up);
    return;
  }
  const socket = c.socket;
  if (c.mode === Mode.None) {
    socket.write(out, "latin1");
    if (bodyStart < buf.length) c.upstreamReusable = false;
    c.finish();
    return;
  }
  const inBuffer = buf.length - bodyStart;
  if (c.mode === Mode.Length && inBuffer >= c.remaining) {
    // The whole (small) response is here: one buffer, one write.
    const bodyEnd = bodyStart + c.remaining;
    const headLength = out.length;
    const whole = Buffer.allocUnsafe(headLength + c.remaining);
    whole.write(out, 0, headLength, "latin1");
    buf.copy(whole, headLength, bodyStart, bodyEnd);
    c.remaining = 0;
    if (bodyEnd < buf.length) c.upstreamReusable = false;
    socket.write(whole);
    c.finish();
    return;
  }
  if (bodyStart < buf.length) {
    // Head and first body bytes leave in one write (writev).
    socket.cork();
    socket.write(out, "latin1");
    relayResponseBody(c, buf, bodyStart);
    socket.uncork();
  } else {
    socket.write(out, "latin1");
    if (c.mode === Mode.Length && c.remaining === 0) c.finish();
  }
}

/** Relays body bytes of `chunk` from `start` by the response's framing. */
export function relayResponseBody(c: Connection, chunk: Buffer, start: number): void {
  let end = chunk.length;
  let complete = false;
  if (c.mode === Mode.Length) {
    end = Math.min(chunk.length, start + c.remaining);
    c.remaining -= end - start;
    complete = c.remaining === 0;
  } else if (c.mode === Mode.Chunked) {
    const scanner = c.scanner as ChunkedScanner;
    end = scanner.feed(chunk, start);
    if (scanner.error !== null) {
      failExchange(c, protocolError(scanner.error));
      return;
    }
    complete = scanner.done;
  }
  if (end < chunk.length) c.upstreamReusable = false;
  if (end > start) {
    const part = start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
    if (!c.socket.write(part) && !complete) c.up?.pause();
  }
  if (complete) c.finish();
}

/** The rest of a large response body moves in the kernel. */
function spliceResponseRest(c: Connection, up: PooledSocket): void {
  c.phase = Phase.Splicing;
  void spliceTransfer(c, up, c.socket, up, c.remaining).then(({ moved, err }) => {
    c.spliced += moved;
    if (c.phase !== Phase.Splicing) return;
    if (err !== null) {
      failExchange(c, err);
      return;
    }
    c.remaining = 0;
    c.phase = Phase.Body;
    c.finish();
  });
}
