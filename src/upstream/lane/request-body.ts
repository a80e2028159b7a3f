/**
 * A request body (PATCH, PUT, POST of a push) going upstream by its Content-Length:
 * the bytes that came with the head, then the rest as the client sends them, or in
 * the kernel when SPLICE_MIN_BYTES or more remain and splice(2) is available.
 */
import type { PooledSocket } from "../socket-pool.js";
import type { Connection } from "./connection.js";
import { Phase, SPLICE_MIN_BYTES } from "./context.js";
import { spliceTransfer } from "./splice-transfer.js";
import { failExchange } from "./upstream-failure.js";

/** The request body: what came with the head, then the rest (in the kernel when large). */
export function sendRequestBody(c: Connection, up: PooledSocket): void {
  const first = c.pending;
  if (first !== null) {
    const n = Math.min(first.length, c.reqRemaining);
    up.write(n === first.length ? first : first.subarray(0, n));
    c.pending = n === first.length ? null : first.subarray(n);
    c.reqRemaining -= n;
  }
  if (c.reqRemaining >= SPLICE_MIN_BYTES && c.lane.splicing) {
    // The kernel needs the connected descriptor: until then the body goes on in JS.
    if (up.connecting) up.once("connect", () => spliceRequestRest(c, up));
    else spliceRequestRest(c, up);
  }
}

/** Client bytes while a request body is still going upstream (the JS path). */
export function relayRequestBody(c: Connection, chunk: Buffer): void {
  const up = c.up as PooledSocket;
  const n = Math.min(chunk.length, c.reqRemaining);
  c.reqRemaining -= n;
  if (n < chunk.length) {
    // A pipelined next request: kept for after the response.
    const rest = chunk.subarray(n);
    c.pending = c.pending === null ? rest : Buffer.concat([c.pending, rest]);
  }
  if (!up.write(n === chunk.length ? chunk : chunk.subarray(0, n)) && c.reqRemaining > 0) c.socket.pause();
}

function spliceRequestRest(c: Connection, up: PooledSocket): void {
  const socket = c.socket;
  if (c.up !== up || up.destroyed || socket.destroyed || c.reqRemaining < SPLICE_MIN_BYTES) return;
  // Bytes Node already read (a paused socket keeps reading up to its high-water mark) go
  // first: read() hands them to the 'data' listener (onData → relayRequestBody), in order.
  while (socket.readableLength > 0 && socket.read() !== null) {
    // each chunk went through onData
  }
  if (c.reqRemaining < SPLICE_MIN_BYTES) {
    socket.resume();
    return;
  }
  socket.resume();
  c.reqSplicing = true;
  void spliceTransfer(c, socket, up, up, c.reqRemaining).then(({ moved, err }) => {
    c.reqSplicing = false;
    c.reqSpliced += moved;
    c.reqRemaining -= moved;
    if (err === null) return;
    if (c.phase === Phase.Connecting || c.phase === Phase.AwaitHead || c.phase === Phase.Body)
      failExchange(c, err);
    else if (!socket.destroyed) socket.destroy();
  });
}
