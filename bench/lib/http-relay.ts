/**
 * Two minimal relays for GET requests in front of an HTTP/1.1 upstream, for
 * bench/splice-relay.ts (not the proxy: no routing, no header rewriting):
 *   - "pipe":   a transparent TCP relay, `client.pipe(upstream)` both ways (JS copies);
 *   - "splice": requests piped as above; each response head is read in JS and
 *     written to the client, then the body (Content-Length) goes through
 *     spliceBody when at least 1 MiB of it is left, in JS otherwise.
 * One upstream connection per client connection, kept alive across requests.
 */
import net from "node:net";
import { spliceBody } from "../../src/upstream/splice.js";

export type RelayMode = "pipe" | "splice";

const HEAD_END = Buffer.from("\r\n\r\n");
const SPLICE_MIN = 1024 * 1024;

export function startRelay(mode: RelayMode, upstream: URL): Promise<net.Server> {
  const server = net.createServer((client) => {
    const up = net.connect(Number(upstream.port), upstream.hostname);
    client.setNoDelay(true);
    up.setNoDelay(true);
    const closeBoth = () => {
      client.destroy();
      up.destroy();
    };
    for (const s of [client, up]) {
      s.on("error", closeBoth);
      s.on("close", closeBoth);
    }
    client.pipe(up);
    if (mode === "pipe") up.pipe(client);
    else relayResponses(up, client, closeBoth);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Reads response heads in JS; moves bodies with spliceBody (large) or writes (small). */
function relayResponses(up: net.Socket, client: net.Socket, fail: () => void): void {
  let head = Buffer.alloc(0);
  let bodyLeft = 0;
  const onData = (chunk: Buffer) => {
    if (bodyLeft > 0) {
      const part = chunk.subarray(0, bodyLeft);
      bodyLeft -= part.length;
      client.write(part);
      chunk = chunk.subarray(part.length);
      if (chunk.length === 0) return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf(HEAD_END);
    if (end < 0) return;
    const headText = head.subarray(0, end).toString("latin1");
    const rest = head.subarray(end + 4);
    head = Buffer.alloc(0);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headText)?.[1] ?? 0);
    const inline = rest.subarray(0, length);
    client.write(Buffer.concat([Buffer.from(`${headText}\r\n\r\n`, "latin1"), inline]));
    const left = length - inline.length;
    if (left >= SPLICE_MIN && rest.length === inline.length) {
      up.off("data", onData);
      spliceBody(up, client, left, { idleTimeoutMs: 30_000 }).then(() => up.on("data", onData), fail);
    } else {
      bodyLeft = left;
      if (rest.length > inline.length) onData(rest.subarray(inline.length));
    }
  };
  up.on("data", onData);
}
