/**
 * Ports for processes that cannot report the port they bound (nginx; the proxy
 * with its info log off): a port is picked by binding 127.0.0.1:0 and closing,
 * the process is started on it, and readiness is "the port accepts". A start that
 * loses the port to someone else is retried by the caller with a new one.
 */
import net from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}
