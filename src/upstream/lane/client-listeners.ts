/**
 * The listeners on a lane connection's client socket: one function per event,
 * shared by every socket (each socket points at its Connection, so nothing is
 * bound per connection). Attached on accept, removed when the connection goes to
 * Node's HTTP server.
 */
import type { Socket } from "node:net";
import type { Connection } from "./connection.js";

export type LaneSocket = Socket & { rcpLane?: Connection };

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

export function attachClient(s: LaneSocket, conn: Connection): void {
  s.rcpLane = conn;
  for (const [event, listener] of CLIENT_LISTENERS) s.on(event, listener);
}

export function detachClient(s: LaneSocket): void {
  s.rcpLane = undefined;
  for (const [event, listener] of CLIENT_LISTENERS) s.removeListener(event, listener);
}
