/**
 * Writing the proxy's own OCI error answers on a raw Node response (the paths
 * that never enter Hono: invalid routes, passthrough failures).
 */
import type { ServerResponse } from "node:http";
import { ERROR_CODES, errorBody, type OciErrorCode } from "../oci/errors.js";
import { isUnreachable } from "../upstream/client.js";

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

/** The proxy's answer to an upstream exchange that failed before any response. */
export function upstreamFailureAnswer(code: string | undefined): {
  status: 502 | 503;
  message: string;
  detail: { reason: string };
} {
  const detail = { reason: code ?? "error" };
  return isUnreachable(code)
    ? { status: 503, message: "upstream registry unreachable", detail }
    : { status: 502, message: "upstream registry connection failed", detail };
}
