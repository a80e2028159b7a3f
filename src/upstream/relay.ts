/**
 * Answering a client with what the upstream answered the proxy's own call: status,
 * headers (hop-by-hop ones dropped, absolute `Location`/`Link` naming the upstream
 * rewritten to the caller's origin, as the passthrough does) and body. Also the
 * small plumbing such handlers need: a signal for a client that went away, the
 * request body under a cap, and the OCI error for a failed upstream exchange.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { endToEndHeaders } from "../http/hop-by-hop.js";
import { API_VERSION, API_VERSION_HEADER, OciError } from "../oci/errors.js";
import { upstreamFailureError } from "../oci/upstream-failure.js";
import { describeFailure, type Failure } from "../registry-client/failure.js";
import { type HttpResponse, UpstreamError } from "../registry-client/http.js";
import { type CallerContext, callerOrigin } from "./caller-headers.js";
import { rewriteLink, rewriteLocation } from "./rewrite.js";

export interface RelayOptions {
  /** Origins the upstream may name (`deps.registry.origins`). */
  origins: ReadonlySet<string>;
  /** The caller's origin (`callerOrigin()`). */
  origin: string;
  /** Headers to add or override. */
  extra?: Record<string, string>;
}

export function relayHeaders(res: HttpResponse, options: RelayOptions): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(endToEndHeaders(res.headers))) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const location = headers.get("location");
  if (location !== null)
    headers.set("location", rewriteLocation(location, res.status, options.origins, options.origin));
  const link = headers.get("link");
  if (link !== null) headers.set("link", rewriteLink(link, options.origins, options.origin));
  if (!headers.has(API_VERSION_HEADER)) headers.set(API_VERSION_HEADER, API_VERSION);
  for (const [name, value] of Object.entries(options.extra ?? {})) headers.set(name, value);
  return headers;
}

export function relayResponse(res: HttpResponse, options: RelayOptions): Response {
  const empty = res.body.length === 0 || res.status === 204 || res.status === 304;
  return new Response(empty ? null : new Uint8Array(res.body), {
    status: res.status,
    headers: relayHeaders(res, options),
  });
}

export function relayOptions(
  req: IncomingMessage,
  caller: CallerContext,
  origins: ReadonlySet<string>,
  extra?: Record<string, string>,
): RelayOptions {
  return { origins, origin: callerOrigin(req, caller), extra: extra ?? {} };
}

/** The OCI error for an upstream exchange that failed before any answer. */
export function upstreamFailure(err: unknown): OciError {
  if (!(err instanceof UpstreamError)) return new OciError("UNKNOWN", "internal proxy error");
  return upstreamFailureError(err.kind);
}

/** The OCI error for a call that failed without an answer to relay (no answer, or not one the API allows). */
export function failureError(f: Failure): OciError {
  if (f.kind === "network") return upstreamFailureError(f.error.kind);
  return new OciError(
    "UNAVAILABLE",
    "upstream registry failed",
    { reason: describeFailure(f) },
    { status: 502 },
  );
}

/** Aborts when the client goes away before its response is finished. */
export function clientGoneSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * Reads a request body of at most `limit` bytes. Resolves null (and stops
 * reading) as soon as it is known to be larger; the rest is left to the server
 * to drain or drop. Never destroys the request, so an answer can still be sent.
 */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      // Reported like an aborted upstream call: nobody is left to read the answer.
      reject(new UpstreamError("the client went away while sending the body", "aborted"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}
