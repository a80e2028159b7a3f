/**
 * Range requests on blobs through the passthrough: the request's Range is made one
 * 2.8 reads as RFC 9110 means it, and a 2.8 answer that cannot be relayed as it is
 * (see oci/blob-range.ts) is replaced before anything is written. Every other blob
 * answer streams as before: the work happens only when a blob request carries a
 * Range header (the request side) or the upstream answers 416 or 206 (the answer side).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { writeOciError } from "../http/write-error.js";
import { isEmptyPartial, rangeToForward, representationLength } from "../oci/blob-range.js";

/** Drops or respells the Range of a blob request (the caller checked that it has one). */
export function prepareRangeRequest(req: IncomingMessage, range: string): void {
  const forwarded = rangeToForward(req.method ?? "GET", range);
  if (forwarded === undefined) delete req.headers.range;
  else if (forwarded !== range) req.headers.range = forwarded;
}

/**
 * On a blob's 416, or a 206 without a byte: answers `416` with `Content-Range:
 * bytes *\/<length>` and OCI error JSON of its own length, and discards the
 * upstream's answer. True when it answered; false leaves the answer to the passthrough.
 */
export function replaceRangeAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  proxyRes: IncomingMessage,
): boolean {
  const partial = proxyRes.statusCode === 206;
  if (partial && !isEmptyPartial(proxyRes.headers)) return false;
  const length = representationLength(proxyRes.headers);
  // An empty blob has no byte to give: its empty 206 stays.
  if (partial && !(length !== undefined && length > 0)) return false;
  const headers: Record<string, string> = { "accept-ranges": "bytes" };
  if (length !== undefined) headers["content-range"] = `bytes */${length}`;
  writeOciError(
    res,
    "RANGE_INVALID",
    "requested range not satisfiable",
    { range: req.headers.range ?? null, ...(length !== undefined ? { size: length } : {}) },
    { status: 416, headers, head: req.method === "HEAD" },
  );
  // 2.8's own 416 promised the whole blob and closes its connection: nothing to reuse.
  proxyRes.destroy();
  return true;
}
