/**
 * A body moved in the kernel with splice(2) between a lane connection's client
 * socket and its upstream socket, either way.
 */
import type { Socket } from "node:net";
import type { PooledSocket } from "../socket-pool.js";
import { spliceBody } from "../splice.js";
import type { Connection } from "./connection.js";

/**
 * Moves `total` bytes from `from` to `to` (the client and `up`, one way or the
 * other) in the kernel. Socket timers see no activity meanwhile, so they are off,
 * the addon's own idle limit in their place, and back on afterwards.
 */
export async function spliceTransfer(
  c: Connection,
  from: Socket,
  to: Socket,
  up: PooledSocket,
  total: number,
): Promise<{ moved: number; err: NodeJS.ErrnoException | null }> {
  const o = c.lane.options;
  c.socket.setTimeout(0);
  up.setTimeout(0);
  try {
    const moved = await spliceBody(from, to, total, { idleTimeoutMs: o.clientIdleTimeoutMs });
    if (!c.socket.destroyed) c.socket.setTimeout(o.clientIdleTimeoutMs);
    if (!up.destroyed) c.lane.pool.rearm(up);
    o.onSpliced?.(moved);
    return { moved, err: null };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { bytesMoved?: number };
    const moved = err.bytesMoved ?? 0;
    o.onSpliced?.(moved);
    return { moved, err };
  }
}
