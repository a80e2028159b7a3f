/**
 * Writing the proxy's own OCI error answers on a raw Node response (the paths
 * that never enter Hono: invalid routes, passthrough failures).
 */
import type { ServerResponse } from "node:http";
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
