/**
 * One raw TCP connection to an HTTP/1.1 server, for tests that need to see the
 * wire: keep-alive reuse, pipelining, split writes, the exact header lines and
 * whether the server ended or cut the connection. Responses are read by their own
 * framing (Content-Length, chunked, none for HEAD/204/304, or to the end).
 */
import net from "node:net";

export interface RawResponse {
  status: number;
  /** Header lines as received, `Name: value`. */
  lines: string[];
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** The whole response as received (head and body framing). */
  raw: Buffer;
}

export class RawConn {
  readonly socket: net.Socket;
  /** Received bytes live in store[start, end); the store grows by doubling (a 24 MiB body in 64 KiB reads would otherwise be copied hundreds of times). */
  private store = Buffer.alloc(64 * 1024);
  private start = 0;
  private end = 0;
  private waiting: (() => void) | null = null;
  /** The server ended its side (FIN). */
  ended = false;
  /** The socket closed (either way). */
  closed = false;
  error: NodeJS.ErrnoException | null = null;
  readonly whenClosed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.append(d);
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.error = err;
      this.wake();
    });
    this.whenClosed = new Promise((resolve) =>
      socket.on("close", () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => resolve(new RawConn(s)));
      s.once("error", reject);
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Bytes received and not yet read as a response. */
  get unread(): Buffer {
    return this.buf;
  }

  private get buf(): Buffer {
    return this.store.subarray(this.start, this.end);
  }

  private append(d: Buffer): void {
    if (this.end + d.length > this.store.length) {
      // A new store: earlier responses keep views of the old one, so nothing is moved in place.
      const live = this.end - this.start;
      const grown = Buffer.allocUnsafe(Math.max(2 * (live + d.length), 64 * 1024));
      this.store.copy(grown, 0, this.start, this.end);
      this.store = grown;
      this.start = 0;
      this.end = live;
    }
    d.copy(this.store, this.end);
    this.end += d.length;
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  private async more(deadline: number, what: string): Promise<void> {
    if (this.ended || this.closed || this.error) {
      throw new Error(
        `connection ${this.error ? `failed (${this.error.code})` : "ended"} while reading ${what}`,
      );
    }
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(`timed out reading ${what}; have ${JSON.stringify(this.buf.toString("latin1"))}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.waiting = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Waits until `what` is in the unread bytes (from `from`); returns its index. */
  private async find(what: string, from: number, deadline: number, reading: string): Promise<number> {
    for (;;) {
      const i = this.buf.indexOf(what, from);
      if (i !== -1) return i;
      await this.more(deadline, reading);
    }
  }

  /** Reads the next response (for a request of `method`). */
  async read(method = "GET", timeoutMs = 15_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    const end = await this.find("\r\n\r\n", 0, deadline, "a response head");
    const headText = this.buf.toString("latin1", 0, end);
    const [statusLine, ...lines] = headText.split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(":");
      const name = line.slice(0, i).toLowerCase();
      const value = line.slice(i + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let at = end + 4;
    const bodyParts: Buffer[] = [];
    const noBody = method === "HEAD" || status === 204 || status === 304 || status < 200;
    if (noBody) {
      // nothing
    } else if ((headers["transfer-encoding"] ?? "").toLowerCase() === "chunked") {
      for (;;) {
        let lineEnd = await this.find("\r\n", at, deadline, "a chunk size");
        const size = Number.parseInt(this.buf.toString("latin1", at, lineEnd).split(";")[0]!, 16);
        at = lineEnd + 2;
        if (size === 0) {
          // Trailers, then the blank line.
          for (;;) {
            lineEnd = await this.find("\r\n", at, deadline, "a trailer");
            const empty = lineEnd === at;
            at = lineEnd + 2;
            if (empty) break;
          }
          break;
        }
        while (this.buf.length < at + size + 2) await this.more(deadline, "chunk data");
        bodyParts.push(this.buf.subarray(at, at + size));
        at += size + 2;
      }
    } else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      while (this.buf.length < at + n) await this.more(deadline, `a ${n}-byte body`);
      bodyParts.push(this.buf.subarray(at, at + n));
      at += n;
    } else {
      while (!this.ended && !this.closed) await this.more(deadline, "a body up to the end").catch(() => {});
      bodyParts.push(this.buf.subarray(at));
      at = this.buf.length;
    }
    const raw = this.buf.subarray(0, at);
    this.start += at;
    return { status, lines, headers, body: Buffer.concat(bodyParts), raw };
  }

  /** Waits until the server ends or closes the connection (or the time runs out: false). */
  async waitEnd(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && !this.closed && !this.error) {
      if (Date.now() >= deadline) return false;
      await this.more(deadline, "the end").catch(() => {});
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The raw connections a test file opens, destroyed together in its `after`. */
export class RawConns {
  private readonly all: RawConn[] = [];

  async open(port: number): Promise<RawConn> {
    return this.track(await RawConn.open(port));
  }

  track(c: RawConn): RawConn {
    this.all.push(c);
    return c;
  }

  destroyAll(): void {
    for (const c of this.all.splice(0)) c.destroy();
  }
}
