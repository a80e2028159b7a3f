/**
 * Writing the proxy's own OCI error answers on a raw Node response (the paths
 * that never enter Hono: invalid routes, passthrough failures).
 */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
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

/**
 * An OCI error as raw HTTP/1.1 response bytes, for sockets without a ServerResponse
 * (a CONNECT). `headers` follow the standard ones.
 */
export function rawOciError(
  status: number,
  code: OciErrorCode,
  message: string,
  detail: unknown,
  headers: Record<string, string>,
  head = false,
): string {
  const body = errorBody(code, message, detail);
  let out =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n` +
    "content-type: application/json; charset=utf-8\r\n" +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `${API_VERSION_HEADER}: ${API_VERSION}\r\n`;
  for (const [name, value] of Object.entries(headers)) out += `${name}: ${value}\r\n`;
  return `${out}\r\n${head ? "" : body}`;
}

/** Answers a CONNECT (which Node hands over as a bare socket) with 405 and closes it. */
export function refuseConnect(req: IncomingMessage, socket: Duplex): void {
  socket.on("error", () => socket.destroy());
  socket.end(
    rawOciError(405, "METHOD_UNKNOWN", `method ${req.method ?? "CONNECT"} is not allowed`, undefined, {
      connection: "close",
    }),
  );
}
