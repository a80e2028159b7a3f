/**
 * Request ids: the client's `X-Request-Id` when it is sane, a fresh UUID otherwise.
 * The id is put back on the incoming headers (so the passthrough and the proxy's own
 * upstream calls forward it) and on the response.
 */
import { randomUUID } from "node:crypto";

export const REQUEST_ID_HEADER = "x-request-id";

const SANE_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function isSaneRequestId(value: unknown): value is string {
  return typeof value === "string" && SANE_ID.test(value);
}

/** The id to use for a request whose `X-Request-Id` header is `value`. */
export function requestIdFrom(value: string | string[] | undefined): string {
  return isSaneRequestId(value) ? value : randomUUID();
}
