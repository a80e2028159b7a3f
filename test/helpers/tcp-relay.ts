/**
 * A TCP relay in front of an upstream that keeps every byte sent toward it, to
 * prove what reached the upstream on the wire (not only what it chose to log).
 */
import net from "node:net";

export interface TcpRelay {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Every byte sent toward the upstream so far, all connections in arrival order. */
  upstreamBytes(): Buffer;
  stop(): Promise<void>;
}

export async function startTcpRelay(target: { host?: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>();
  const chunks: Buffer[] = [];
  let count = 0;
  const server = net.createServer((client) => {
    count++;
    const upstream = net.connect(target.port, target.host ?? "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (d: Buffer) => chunks.push(d));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => count,
    upstreamBytes: () => Buffer.concat(chunks),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
