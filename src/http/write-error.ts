/**
 * Writing the proxy's own OCI error answers on a raw Node response (the paths
 * that never enter Hono: invalid routes, passthrough failures).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ERROR_CODES, errorBody, type OciErrorCode } from "../oci/errors.js";

export const API_VERSION_HEADER = "docker-distribution-api-version";
export const API_VERSION = "registry/2.0";

export function writeOciError(
  res: ServerResponse,
  code: OciErrorCode,
  message?: string,
  detail?: unknown,
  options: { status?: number; headers?: Record<string, string>; head?: boolean } = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(code, message, detail);
  res.writeHead(options.status ?? ERROR_CODES[code].status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    [API_VERSION_HEADER]: API_VERSION,
    ...options.headers,
  });
  res.end(options.head ? undefined : body);
}

/** Answers a CONNECT (which Node hands over as a bare socket) with 405 and closes it. */
export function refuseConnect(req: IncomingMessage, socket: Duplex): void {
  const body = errorBody("METHOD_UNKNOWN", `method ${req.method ?? "CONNECT"} is not allowed`);
  socket.on("error", () => socket.destroy());
  socket.end(
    "HTTP/1.1 405 Method Not Allowed\r\n" +
      "content-type: application/json; charset=utf-8\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `${API_VERSION_HEADER}: ${API_VERSION}\r\n` +
      "connection: close\r\n\r\n" +
      body,
  );
}
