/**
 * Handing a lane connection to Node's HTTP server, with the bytes read so far
 * unshifted in front: the connection stays there for good (every rule of the
 * server, Hono, http-proxy-3 and the upload guard applies to it).
 */
import type { Socket } from "node:net";
import { markAccounted } from "../../ops/request-tracker.js";
import { detachClient } from "./client-listeners.js";
import type { Connection } from "./connection.js";
import { Phase } from "./context.js";

export function handOff(c: Connection): void {
  const s = c.socket;
  if (c.clientEnded) {
    // The client's FIN was read while a request was served: its bytes cannot go back
    // (unshift after 'end' destroys the socket), and Node's server aborts requests
    // that come before a FIN anyway. End the connection cleanly instead.
    c.pending = null;
    s.end();
    return;
  }
  c.lane.conns.delete(c);
  c.phase = Phase.Closed;
  detachClient(s);
  s.setTimeout(0);
  s.pause();
  markAccounted(s, c.pending?.length ?? 0);
  if (c.pending !== null) s.unshift(c.pending);
  c.pending = null;
  // Node's server then reads through 'data' events, so the unshifted bytes come first.
  const handle = (s as Socket & { _handle?: { _consumed?: boolean } })._handle;
  if (handle) handle._consumed = true;
  c.lane.options.handoff(s);
  s.resume();
}
