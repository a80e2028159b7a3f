/**
 * The two adapters of the one OCI error renderer (oci/errors.ts): onto a raw
 * Node response (the listener's own answers, passthrough and upload failures)
 * and into a web Response (the error handler of both Hono apps).
 */
import type { ServerResponse } from "node:http";
import type { Context, ErrorHandler } from "hono";
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
 * The error handler of both Hono apps (the main one and the admin listener's):
 * an OciError is answered as it is; any other error goes to `unexpected`, which
 * may name the OciError to answer instead (null: 500 UNKNOWN).
 */
export function ociErrorHandler(unexpected: (err: Error, c: Context) => OciError | null): ErrorHandler {
  return (err, c) => {
    const head = c.req.method === "HEAD";
    if (err instanceof OciError) return ociErrorResponse(err, head);
    return ociErrorResponse(unexpected(err, c) ?? new OciError("UNKNOWN", "internal proxy error"), head);
  };
}
