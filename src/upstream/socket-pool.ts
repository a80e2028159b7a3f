/**
 * Keep-alive TCP connections to the upstream for the fast lane: a LIFO list of
 * free sockets, a cap on open ones with a wait queue, and an inactivity limit.
 * A free socket the upstream closed meanwhile is dropped when its close
 * arrives; one closing just as it is reused is the caller's retry.
 *
 * Each socket has one permanent `data`/`end`/`close`/`error`/`timeout` handler
 * set that dispatches to its current user (no listeners added per request). A
 * free socket that receives anything or closes is dropped.
 */
import net from "node:net";

export interface UpstreamUser {
  onUpstreamData(chunk: Buffer): void;
  /** The upstream ended, closed, failed or timed out while this user held the socket. */
  onUpstreamGone(err: NodeJS.ErrnoException): void;
  /** The socket's write buffer drained (a request body may go on). */
  onUpstreamDrain?(): void;
}

export interface PooledSocket extends net.Socket {
  rcpUser: UpstreamUser | null;
  /** Served a response before: a failure before the next response may be a stale reuse. */
  rcpReused: boolean;
}

export interface SocketPoolOptions {
  host: string;
  port: number;
  maxSockets: number;
  maxFreeSockets: number;
  /**
   * Inactivity limit of a socket, armed once at connect (a timer per request cost
   * more than the rest of the pool): a request in flight, or a free socket, idle
   * this long is dropped (0: none).
   */
  busyIdleMs: number;
  highWaterMark: number;
}

type Waiter = (err: Error | null, socket: PooledSocket | null) => void;

function goneError(code: string, message: string): NodeJS.ErrnoException {
  const e = new Error(message) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

export class SocketPool {
  private readonly free: PooledSocket[] = [];
  private readonly waiters: Waiter[] = [];
  private open = 0;
  private closed = false;

  constructor(private readonly o: SocketPoolOptions) {}

  /** Hands out a socket (connected or connecting) for `user`. */
  acquire(user: UpstreamUser, done: Waiter, fresh = false): void {
    if (this.closed) {
      done(goneError("ECONNABORTED", "proxy is shutting down"), null);
      return;
    }
    if (!fresh) {
      const s = this.free.pop();
      if (s !== undefined) {
        s.rcpUser = user;
        done(null, s);
        return;
      }
    }
    if (this.open >= this.o.maxSockets) {
      this.waiters.push((err, s) => {
        if (s) s.rcpUser = user;
        done(err, s);
      });
      return;
    }
    done(null, this.connect(user));
  }

  /** Back to the pool after a complete exchange. */
  release(s: PooledSocket): void {
    s.rcpUser = null;
    s.rcpReused = true;
    if (this.closed || s.destroyed || !s.writable) {
      this.discard(s);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter(null, s);
      return;
    }
    if (this.free.length >= this.o.maxFreeSockets) {
      this.discard(s);
      return;
    }
    this.free.push(s);
  }

  /** Closes a socket that must not be reused (broken, or its response was not read to the end). */
  discard(s: PooledSocket): void {
    s.rcpUser = null;
    this.removeFree(s);
    if (!s.destroyed) s.destroy();
  }

  /** Re-arms the inactivity limit after a caller turned it off (a splice). */
  rearm(s: PooledSocket): void {
    s.setTimeout(this.o.busyIdleMs);
  }

  close(): void {
    this.closed = true;
    for (const s of this.free.splice(0)) s.destroy();
    for (const w of this.waiters.splice(0)) w(goneError("ECONNABORTED", "proxy is shutting down"), null);
  }

  private removeFree(s: PooledSocket): void {
    const i = this.free.indexOf(s);
    if (i !== -1) this.free.splice(i, 1);
  }

  private connect(user: UpstreamUser): PooledSocket {
    // highWaterMark is a stream option net.connect passes on (not in its typings).
    const options = {
      host: this.o.host,
      port: this.o.port,
      noDelay: true,
      highWaterMark: this.o.highWaterMark,
    };
    const s = net.connect(options as net.NetConnectOpts) as PooledSocket;
    s.rcpUser = user;
    s.rcpReused = false;
    this.open++;
    s.setTimeout(this.o.busyIdleMs);
    s.on("data", (chunk: Buffer) => {
      const u = s.rcpUser;
      if (u === null) this.discard(s);
      else u.onUpstreamData(chunk);
    });
    const gone = (err: NodeJS.ErrnoException) => {
      const u = s.rcpUser;
      if (u === null) this.discard(s);
      else {
        s.rcpUser = null;
        u.onUpstreamGone(err);
      }
    };
    // EOF: the end of a read-until-close body, or (before a response) a stale reuse.
    s.on("drain", () => s.rcpUser?.onUpstreamDrain?.());
    s.on("end", () => gone(goneError("EOF", "upstream closed the connection")));
    s.on("error", (err: NodeJS.ErrnoException) => gone(err));
    s.on("timeout", () => {
      if (s.rcpUser === null) this.discard(s);
      else gone(goneError("ETIMEDOUT", "upstream idle timeout"));
    });
    s.on("close", () => {
      this.open--;
      this.removeFree(s);
      if (s.rcpUser !== null) gone(goneError("ECONNRESET", "upstream connection closed"));
      const waiter = this.waiters.shift();
      if (waiter !== undefined) {
        // A slot opened: connect for the first waiter.
        const next = this.connect({ onUpstreamData() {}, onUpstreamGone() {} });
        waiter(null, next);
      }
    });
    return s;
  }
}
