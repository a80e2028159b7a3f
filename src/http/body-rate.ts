/**
 * A minimum rate for request bodies (uploads, manifest PUTs): a body that brings
 * fewer than `minBytesPerSecond` x `windowMs` bytes in one window, while the
 * proxy was waiting for it, is cut: `408 Request Timeout` (OCI error JSON,
 * `Connection: close`) when nothing has been answered yet, then the connection
 * is closed, which ends the upstream exchange too. A window in which the proxy
 * itself was not reading (backpressure from a slow upstream, a request waiting
 * for an upstream connection) does not count against the client.
 *
 * Bytes come from the socket's own counter (`bytesRead`): no listener on the
 * body's data. One timer per request that has a body; none for the others.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { writeOciError } from "./write-error.js";

export interface BodyRateOptions {
  /** 0: no minimum. */
  minBytesPerSecond: number;
  windowMs: number;
  /** A body cut for being too slow (metrics, the log). */
  onTooSlow?(req: IncomingMessage, bytes: number): void;
}

/** Whether a request announces a body (a length above 0, or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return length !== "0";
  return req.headers["transfer-encoding"] !== undefined;
}

/** Whether one window's bytes are too few (pure). */
export function tooSlow(bytes: number, windowMs: number, minBytesPerSecond: number): boolean {
  return minBytesPerSecond > 0 && bytes < (minBytesPerSecond * windowMs) / 1000;
}

/** Watches `req`'s body until it is complete (or the exchange ends). */
export function watchBodyRate(req: IncomingMessage, res: ServerResponse, o: BodyRateOptions): void {
  if (o.minBytesPerSecond <= 0) return;
  const socket = req.socket;
  let mark = socket.bytesRead;
  let counts = true;
  const onPause = () => {
    counts = false;
  };
  const timer = setInterval(() => {
    if (req.complete || req.destroyed) return stop();
    const read = socket.bytesRead;
    const bytes = read - mark;
    mark = read;
    // Only a window in which the proxy read the body all along is the client's.
    const fair = counts && req.readableFlowing === true;
    counts = true;
    if (!fair || !tooSlow(bytes, o.windowMs, o.minBytesPerSecond)) return;
    stop();
    o.onTooSlow?.(req, bytes);
    if (res.headersSent || res.writableEnded) {
      socket.destroy();
      return;
    }
    writeOciError(
      res,
      "UNKNOWN",
      `the request body arrived too slowly: ${bytes} bytes in ${o.windowMs} ms, below the minimum of ${o.minBytesPerSecond} bytes/s`,
      { minBytesPerSecond: o.minBytesPerSecond, windowMs: o.windowMs, bytes },
      { status: 408, headers: { connection: "close" } },
    );
    // The rest of the body has nowhere to go: close once the answer is out.
    res.once("finish", () => socket.destroy());
  }, o.windowMs);
  timer.unref();
  function stop(): void {
    clearInterval(timer);
    req.off("pause", onPause);
    req.off("end", stop);
    res.off("close", stop);
  }
  req.on("pause", onPause);
  req.once("end", stop);
  res.once("close", stop);
}
