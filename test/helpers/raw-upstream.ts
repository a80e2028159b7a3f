/**
 * A scripted upstream on raw TCP, for faults a real registry will not produce on
 * demand (a stale keep-alive socket, a truncated body, a malformed status line or
 * chunk size, no answer). It reads body-less request heads and hands each one to
 * the script with its connection number and its index on that connection; the
 * script writes whatever bytes it likes (or closes, or stays silent).
 */
import net from "node:net";

export interface RawExchange {
  socket: net.Socket;
  /** 0-based connection number, in accept order. */
  conn: number;
  /** 0-based index of this request on its connection. */
  index: number;
  /** The request head text (request line and headers). */
  head: string;
  /** The request line. */
  line: string;
}

export type RawScript = (x: RawExchange) => void;

export interface RawUpstream {
  readonly url: string;
  readonly port: number;
  /** Every request seen, in order. */
  readonly seen: RawExchange[];
  /** Connections accepted so far. */
  connections(): number;
  /** Connections that have closed so far. */
  closedConnections(): number;
  /** Resolves when connection `n` closes. */
  whenClosed(n: number): Promise<void>;
  script: RawScript;
  stop(): Promise<void>;
}

/** A 200 with a fixed body, kept alive. */
export function answer(socket: net.Socket, body = "{}", extra: string[] = []): void {
  socket.write(
    `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra
      .map((h) => `${h}\r\n`)
      .join("")}\r\n${body}`,
  );
}

export async function startRawUpstream(
  script: RawScript = ({ socket }) => answer(socket),
): Promise<RawUpstream> {
  const seen: RawExchange[] = [];
  const sockets: net.Socket[] = [];
  const closeWaiters = new Map<number, Array<() => void>>();
  const closedSet = new Set<number>();
  const server = net.createServer((socket) => {
    const conn = sockets.length;
    sockets.push(socket);
    let buf = "";
    let index = 0;
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      closedSet.add(conn);
      for (const w of closeWaiters.get(conn) ?? []) w();
    });
    socket.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const x: RawExchange = { socket, conn, index: index++, head, line: head.split("\r\n")[0] ?? "" };
        seen.push(x);
        up.script(x);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const up: RawUpstream = {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    connections: () => sockets.length,
    closedConnections: () => closedSet.size,
    whenClosed(n) {
      if (closedSet.has(n)) return Promise.resolve();
      return new Promise((resolve) => closeWaiters.set(n, [...(closeWaiters.get(n) ?? []), resolve]));
    },
    script,
    stop() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return up;
}
