/**
 * The passthrough: every request the proxy does not own goes to the upstream
 * through http-proxy-3, streamed both ways, byte for byte. The only changes:
 * one clean set of forwarding headers on the way in, hop-by-hop headers dropped
 * both ways (http/hop-by-hop.ts), and absolute `Location`/`Link` URLs that name
 * the upstream rewritten to the proxy's origin on the way out (on every status,
 * including the 202s of blob uploads, which http-proxy-3's own rewrite skips).
 *
 * An exchange that breaks is never left hanging: before the response head has
 * left, the client gets a 502/503 in OCI JSON; after it, the client's connection
 * is cut, so a short body can never pass for a complete one.
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from "node:http";
import { createProxyServer } from "http-proxy-3";
import { dropHopByHop } from "../http/hop-by-hop.js";
import { proxied } from "../http/proxied-request.js";
import { writeOciError } from "../http/write-error.js";
import { API_VERSION, API_VERSION_HEADER } from "../oci/errors.js";
import { upstreamFailureAnswer } from "../oci/upstream-failure.js";
import { REQUEST_ID_HEADER } from "../ops/request-id.js";
import { errorCode, failureKindOf } from "../registry-client/http.js";
import { applyForwardingHeaders, requestOrigin } from "./forwarding.js";
import { rewriteLink, rewriteLocation } from "./rewrite.js";
import type { UpstreamTarget } from "./target.js";

export interface PassthroughOptions {
  target: UpstreamTarget;
  trustForwarded: boolean;
  publicUrl: URL | null;
  /** Called when the upstream cannot be reached or the exchange breaks. */
  onUpstreamError?: (err: NodeJS.ErrnoException, req: IncomingMessage) => void;
  /**
   * Called with each upstream response before it is written (metrics, logging). It
   * may answer `res` itself (and discard `proxyRes`): the passthrough then writes nothing.
   */
  onResponse?: (req: IncomingMessage, proxyRes: IncomingMessage, res: ServerResponse) => void;
}

export interface Passthrough {
  forward(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

/** Exchanges whose break was handled (an error and a close can both report one). */
const broken = new WeakSet<ServerResponse>();

/** The client exchange an upstream response belongs to (set in the proxyRes hook). */
const kExchange = Symbol("rcp.exchange");
type RelayedResponse = IncomingMessage & {
  [kExchange]?: { req: IncomingMessage; res: ServerResponse; failed: Failed };
};
type Failed = (err: NodeJS.ErrnoException, req: IncomingMessage, res: ServerResponse) => void;

/** The client request an upstream request was made for (set in the proxyReq hook). */
const kClient = Symbol("rcp.client");
type UpstreamRequest = ClientRequest & { [kClient]?: IncomingMessage };

/** The upstream exchange hit a time limit (answered 504): one shared listener, no closure per request. */
function onUpstreamTimeout(this: UpstreamRequest): void {
  const req = this[kClient];
  if (req !== undefined) proxied(req).rcpTimedOut = true;
}

/** Errors of a relayed body are handled by its `close` (onUpstreamClose); one listener for all. */
function ignore(): void {}

/**
 * A body that stops short (the upstream closed, reset or sent a malformed chunk)
 * never completes the client's response: http-proxy-3 pipes it, and a pipe leaves
 * the destination open when its source fails. One shared listener, no closure per request.
 */
function onUpstreamClose(this: RelayedResponse): void {
  const exchange = this[kExchange];
  if (exchange === undefined || this.complete || exchange.req.socket.destroyed) return;
  const err: NodeJS.ErrnoException = new Error("the upstream response ended before its body was complete");
  err.code = "ECONNRESET";
  exchange.failed(err, exchange.req, exchange.res);
}

/**
 * The passthrough's time limits, as socket idle timeouts (no timer of their own):
 * until the response head, the shorter of upstream.firstByteTimeoutMs and
 * upstream.idleTimeoutMs (0: none); from the head on, upstream.idleTimeoutMs.
 */
export function passthroughTimeouts(target: Pick<UpstreamTarget, "firstByteTimeoutMs" | "idleTimeoutMs">): {
  beforeHead: number;
  afterHead: number;
} {
  const { firstByteTimeoutMs: first, idleTimeoutMs: idle } = target;
  const beforeHead = first === 0 ? idle : idle === 0 ? first : Math.min(first, idle);
  return { beforeHead, afterHead: idle };
}

/**
 * A request without a body that died on a reused keep-alive socket before any
 * answer met the upstream closing that idle socket as the request went out: it
 * was not processed, and is sent once more on a fresh connection. GET and HEAD
 * only (idempotent, no body to replay), once.
 */
function mayRetry(err: NodeJS.ErrnoException, req: IncomingMessage, res: ServerResponse): boolean {
  const state = proxied(req);
  if (
    err.code !== "ECONNRESET" ||
    state.rcpReusedSocket !== true ||
    state.rcpRetried === true ||
    state.rcpTimedOut === true
  )
    return false;
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  if (state.rcpChunked !== undefined || (req.headers["content-length"] ?? "0") !== "0") return false;
  return !res.headersSent && !req.socket.destroyed && state.rcpUpstream === undefined;
}

/** The exchange broke: a 502/503 while nothing has been sent, else the client is cut. */
function exchangeFailure(
  options: Pick<PassthroughOptions, "onUpstreamError">,
): (err: NodeJS.ErrnoException, req: IncomingMessage, res: ServerResponse) => void {
  return function failed(err, req, res) {
    if (res.writableEnded || res.destroyed || broken.has(res)) return;
    broken.add(res);
    // http-proxy-3 ends a timed-out exchange with a plain "socket hang up".
    if (proxied(req).rcpTimedOut === true) err.code = "ETIMEDOUT";
    options.onUpstreamError?.(err, req);
    // Body bytes the upstream sent before it broke stay where they are.
    const proxyRes = proxied(req).rcpUpstream;
    if (proxyRes !== undefined) {
      proxyRes.unpipe(res);
      proxyRes.destroy();
    }
    if (req.socket.destroyed) {
      res.destroy();
      return;
    }
    if (res.headersSent) {
      // Cut, after what was written in this tick (Node corks the socket until the
      // next one) has left: the client sees the bytes the upstream sent, then the cut.
      setImmediate(() => res.destroy());
      return;
    }
    // The upstream's headers may already be set on the response: none of them describe this answer.
    for (const name of res.getHeaderNames()) {
      if (name !== REQUEST_ID_HEADER && name !== "connection") res.removeHeader(name);
    }
    const answer = upstreamFailureAnswer(failureKindOf(errorCode(err)));
    writeOciError(res, "UNAVAILABLE", answer.message, answer.detail, {
      status: answer.status,
      head: req.method === "HEAD",
      // A request body still arriving has nowhere to go: close once answered, so the
      // client is not left sending into a connection nobody reads.
      headers: req.complete ? {} : { connection: "close" },
    });
  };
}

export function createPassthrough(options: PassthroughOptions): Passthrough {
  const { target, trustForwarded, publicUrl } = options;
  const limits = passthroughTimeouts(target);
  const switchAtHead = limits.beforeHead !== limits.afterHead;
  const proxy = createProxyServer({
    target: target.url,
    agent: target.agent,
    changeOrigin: true,
    xfwd: false,
    proxyTimeout: limits.beforeHead || undefined,
    secure: true, // TLS settings (CA bundle, client certificate) live on the agent
  });

  // http-proxy-3's `deleteLength` pass gives every DELETE and OPTIONS without a
  // Content-Length a `Content-Length: 0` and drops its Transfer-Encoding; a chunked
  // body would then follow as bare bytes, which the upstream reads as a next request
  // (smuggling). Such a body goes upstream chunked, like every other chunked body.
  proxy.before("web", "stream", (req) => {
    const codings = proxied(req).rcpChunked;
    if (codings === undefined) return;
    delete req.headers["content-length"];
    req.headers["transfer-encoding"] = codings;
  });

  const failed = exchangeFailure(options);

  proxy.on("proxyRes", (proxyRes, req, res) => {
    const h = dropHopByHop(proxyRes.headers);
    // The client's connection keeps alive only if the client asked for it (else
    // http-proxy-3 announces keep-alive and Node keeps the socket open after a
    // client's `Connection: close`) and its request is all in: after an answer that
    // comes before the body is complete (an early 401), the rest has nowhere to go.
    const keepAlive = (res as ServerResponse).shouldKeepAlive !== false && req.complete;
    h.connection = keepAlive ? "keep-alive" : "close";
    const to = proxied(req).rcpOrigin;
    if (to !== undefined) {
      if (typeof h.location === "string")
        h.location = rewriteLocation(h.location, proxyRes.statusCode ?? 0, target.origins, to);
      if (typeof h.link === "string") h.link = rewriteLink(h.link, target.origins, to);
    }
    if (h[API_VERSION_HEADER] === undefined && req.url?.startsWith("/v2"))
      h[API_VERSION_HEADER] = API_VERSION;
    options.onResponse?.(req, proxyRes, res as ServerResponse);
    proxied(req).rcpUpstream = proxyRes;
    // The head is in: from now on only idleness limits the transfer.
    if (switchAtHead) proxyRes.socket?.setTimeout(limits.afterHead);
    (proxyRes as RelayedResponse)[kExchange] = { req, res: res as ServerResponse, failed };
    proxyRes.on("error", ignore);
    proxyRes.on("close", onUpstreamClose);
  });

  proxy.on("proxyReq", (proxyReq, req) => {
    proxied(req).rcpReusedSocket = proxyReq.reusedSocket;
    if (limits.beforeHead > 0) {
      (proxyReq as UpstreamRequest)[kClient] = req;
      proxyReq.on("timeout", onUpstreamTimeout);
    }
  });

  proxy.on("error", (err, req, res) => {
    if (!res || !("writeHead" in res)) return;
    const e = err as NodeJS.ErrnoException;
    if (mayRetry(e, req, res as ServerResponse)) {
      proxied(req).rcpRetried = true;
      proxy.web(req, res);
      return;
    }
    failed(e, req, res as ServerResponse);
  });

  return {
    forward(req, res) {
      const origin = requestOrigin(req, trustForwarded, publicUrl);
      const state = proxied(req);
      state.rcpOrigin = `${origin.proto}://${origin.host}`;
      const headers = req.headers;
      const id = headers[REQUEST_ID_HEADER];
      // llhttp accepts a Transfer-Encoding only when chunked is its last coding, so
      // the body is chunked; Node's client chunks it again for the next hop, and
      // any coding before chunked is announced as it came (the upstream decides).
      const codings = headers["transfer-encoding"];
      dropHopByHop(headers);
      if (id !== undefined) headers[REQUEST_ID_HEADER] = id;
      if (codings !== undefined) {
        headers["transfer-encoding"] = codings;
        state.rcpChunked = codings;
      }
      applyForwardingHeaders(headers, origin, req.socket.remoteAddress, trustForwarded);
      proxy.web(req, res);
    },
    close() {
      proxy.close();
    },
  };
}
