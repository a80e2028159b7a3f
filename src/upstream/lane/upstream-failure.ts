/**
 * When the upstream side of a lane exchange fails: its socket closed or errored
 * (retried once when a reused keep-alive socket turns out stale), it could not be
 * reached, or it sent something malformed. Before the response head the client
 * gets a raw OCI error (502/503/504 by the error code); after it, a broken
 * transfer (the socket destroyed), never a short body.
 */
import { rawOciError, upstreamFailureAnswer } from "../../http/write-error.js";
import type { Connection } from "./connection.js";
import { Mode, Phase } from "./context.js";
import { recordExchange } from "./record.js";

/** The pool reports that the upstream socket ended, closed, failed or timed out. */
export function upstreamGone(c: Connection, err: NodeJS.ErrnoException): void {
  // The splice owns both sockets until it settles, and reports its own failure.
  if (c.phase === Phase.Splicing) return;
  const up = c.up;
  c.up = null;
  if (up !== null) c.lane.pool.discard(up);
  if (c.phase === Phase.Body && c.mode === Mode.UntilClose && err.code === "EOF") {
    c.finish();
    return;
  }
  // A reused socket the upstream had closed: try once more on a new connection.
  const stale = err.code === "EOF" || err.code === "ECONNRESET" || err.code === "EPIPE";
  if (c.phase === Phase.AwaitHead && c.responseHead === null && stale && up?.rcpReused && !c.retried) {
    c.retried = true;
    c.phase = Phase.Connecting;
    c.send(true);
    return;
  }
  failExchange(c, err);
}

/** Ends the exchange on an upstream failure (nothing happens on an idle or closed connection). */
export function failExchange(c: Connection, err: NodeJS.ErrnoException): void {
  if (c.phase === Phase.Closed || c.phase === Phase.Idle) return;
  const o = c.lane.options;
  o.onUpstreamError(err, { method: c.method, path: c.path, requestId: c.requestId });
  const up = c.up;
  c.up = null;
  if (up !== null) c.lane.pool.discard(up);
  if (c.headWritten) {
    // Mid-body: the client must see a broken transfer, not a short one.
    c.phase = Phase.Closed;
    recordExchange(c, false);
    c.lane.conns.delete(c);
    c.socket.destroy();
    return;
  }
  const answer = upstreamFailureAnswer(err.code);
  c.status = answer.status;
  c.keepAlive = c.keepAlive && !o.readiness.draining && c.reqRemaining === 0 && !c.reqSplicing;
  c.socket.write(
    rawOciError(
      answer.status,
      "UNAVAILABLE",
      answer.message,
      answer.detail,
      { "x-request-id": c.requestId, connection: c.keepAlive ? "keep-alive" : "close" },
      c.method === "HEAD",
    ),
  );
  c.finish();
}
