/**
 * A raw HTTP helper for tests: exact headers and bytes, no client-side magic
 * (fetch would add, fold or hide headers the tests assert on).
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import https from "node:https";

export interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = unknown>(): T;
}

export interface ReqOptions {
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
  agent?: http.Agent | false;
  ca?: Buffer;
}

export function request(method: string, url: string, options: ReqOptions = {}): Promise<Res> {
  const u = new URL(url);
  // The path goes out exactly as written (URL would resolve `%2e%2e` and `..`).
  const rawPath = url.replace(/^https?:\/\/[^/]+/, "") || "/";
  const mod = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        method,
        hostname: u.hostname.replace(/^\[|\]$/g, ""),
        port: u.port,
        path: rawPath,
        headers: options.headers,
        agent: options.agent ?? false,
        ...(options.ca ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString(),
            json: <T>() => JSON.parse(body.toString()) as T,
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * Sends a raw request line and headers, for inputs a client library would refuse to send.
 * By default the socket is half-closed right after sending (Node servers then abort
 * requests they would proxy); with `keepOpen` it stays open until the server closes it
 * (send `Connection: close`) or `timeoutMs` passes.
 */
export async function rawRequest(
  port: number,
  text: string,
  options: { keepOpen?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      if (options.keepOpen) socket.write(text);
      else socket.end(text);
    });
    let out = "";
    socket.on("data", (d) => {
      out += d.toString();
    });
    socket.on("end", () => resolve(out));
    socket.on("close", () => resolve(out));
    socket.on("error", (err: NodeJS.ErrnoException) => {
      // A reset after the answer arrived still counts as the answer.
      if (out !== "" && err.code === "ECONNRESET") resolve(out);
      else reject(err);
    });
    socket.setTimeout(options.timeoutMs ?? 60_000, () => {
      socket.destroy();
      resolve(out);
    });
  });
}
