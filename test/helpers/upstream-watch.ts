/**
 * Watching what reaches the upstream and what reaches bystanders:
 * - the real registry with its access log on (`ACCESS_LOG`), and
 *   `forwardedDuring()` returning the request lines it received while a block ran;
 * - `startBystander()`, a loopback TCP server that only counts connections, for
 *   asserting that nothing ever sends the proxy elsewhere.
 */
import { randomUUID } from "node:crypto";
import net from "node:net";
import { request } from "./http.js";
import type { TestRegistry } from "./registry.js";

/** `startRegistry({ extra: ACCESS_LOG })`: the registry logs one line per request. */
export const ACCESS_LOG = {
  log: { level: "info", formatter: "text", accesslog: { disabled: false } },
} as const;

const ACCESS_LINE_RE = /"([A-Z]+ \S+) HTTP\/[0-9.]+"/;

function accessLines(registry: TestRegistry): string[] {
  const out: string[] = [];
  for (const line of registry.log().split("\n")) {
    const m = ACCESS_LINE_RE.exec(line);
    if (m && !line.includes("level=")) out.push(m[1]!);
  }
  return out;
}

/**
 * Runs `block`, then sends a sentinel `GET /v2/?sentinel=…` through `proxyUrl` and
 * waits for it in the registry's access log. Returns the request lines (`METHOD
 * target`) the registry received in between, sentinel excluded.
 */
export async function forwardedDuring(
  registry: TestRegistry,
  proxyUrl: string,
  block: () => Promise<void>,
): Promise<string[]> {
  const before = accessLines(registry).length;
  await block();
  const sentinel = `sentinel=${randomUUID()}`;
  await request("GET", `${proxyUrl}/v2/?${sentinel}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = accessLines(registry).slice(before);
    const at = lines.findIndex((l) => l.includes(sentinel));
    if (at !== -1) return lines.filter((l) => !l.includes(sentinel));
    if (Date.now() > deadline) throw new Error(`sentinel never reached the registry:\n${lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Bystander {
  readonly port: number;
  readonly url: string;
  /** Connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

/** A loopback TCP server that accepts, counts and closes connections. */
export async function startBystander(): Promise<Bystander> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.end("HTTP/1.1 418 I'm a bystander\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
