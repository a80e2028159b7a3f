/**
 * The two adapters of the one OCI error renderer (oci/errors.ts): onto a raw
 * Node response (the listener's own answers, passthrough and upload failures)
 * and into a web Response (Hono's onError).
 */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { OciError, type OciErrorCode, renderOciError } from "../oci/errors.js";

/** Writes an OCI error on a Node response; destroys it when a head was already sent. */
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
  const err = new OciError(code, message, detail, options);
  const answer = renderOciError(err, options.head);
  res.writeHead(answer.status, answer.headers);
  res.end(options.head ? undefined : answer.body);
}

/** An OCI error as a web Response (for Hono). */
export function ociErrorResponse(err: OciError, head = false): Response {
  const answer = renderOciError(err, head);
  return new Response(head ? null : answer.body, { status: answer.status, headers: answer.headers });
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
  const answer = renderOciError(new OciError(code, message, detail, { status, headers }), head);
  let out = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n`;
  for (const [name, value] of Object.entries(answer.headers)) out += `${name}: ${value}\r\n`;
  return `${out}\r\n${answer.body}`;
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
