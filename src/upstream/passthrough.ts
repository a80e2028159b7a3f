/**
 * The passthrough: every request the proxy does not own goes to the upstream
 * through http-proxy-3, streamed both ways, byte for byte. The only changes:
 * one clean set of forwarding headers on the way in, hop-by-hop headers dropped,
 * and absolute `Location`/`Link` URLs that name the upstream rewritten to the
 * proxy's origin on the way out (on every status, including the 202s of blob
 * uploads, which http-proxy-3's own rewrite skips).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { createProxyServer } from "http-proxy-3";
import {
  API_VERSION,
  API_VERSION_HEADER,
  upstreamFailureAnswer,
  writeOciError,
} from "../http/write-error.js";
import { applyForwardingHeaders, clientOrigin, type PublicOrigin } from "./forwarding.js";
import { rewriteLink, rewriteUrl } from "./rewrite.js";
import type { UpstreamTarget } from "./target.js";

export interface PassthroughOptions {
  target: UpstreamTarget;
  trustForwarded: boolean;
  publicUrl: URL | null;
  /** Called when the upstream cannot be reached or the exchange breaks. */
  onUpstreamError?: (err: NodeJS.ErrnoException, req: IncomingMessage) => void;
  /** Called with each upstream response before it is written (metrics, logging). */
  onResponse?: (req: IncomingMessage, proxyRes: IncomingMessage) => void;
}

export interface Passthrough {
  forward(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

/** Hop-by-hop and proxy-only request headers that never go upstream. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"];

export function requestOrigin(
  req: IncomingMessage,
  trustForwarded: boolean,
  publicUrl: URL | null,
): PublicOrigin {
  const encrypted = Boolean((req.socket as TLSSocket).encrypted);
  return clientOrigin(req.headers, encrypted, trustForwarded, publicUrl);
}

export function createPassthrough(options: PassthroughOptions): Passthrough {
  const { target, trustForwarded, publicUrl } = options;
  const proxy = createProxyServer({
    target: target.url,
    agent: target.agent,
    changeOrigin: true,
    xfwd: false,
    proxyTimeout: target.idleTimeoutMs || undefined,
    secure: true, // TLS settings (CA bundle, client certificate) live on the agent
  });

  proxy.on("proxyRes", (proxyRes, req, res) => {
    const h = proxyRes.headers;
    // Connection is hop-by-hop: the client's own connection keeps alive only if the
    // client asked for it (otherwise http-proxy-3 announces keep-alive and Node keeps
    // the socket open after a client's `Connection: close`).
    h.connection = (res as ServerResponse).shouldKeepAlive === false ? "close" : "keep-alive";
    if (typeof h.location === "string" || typeof h.link === "string") {
      // The client's origin, as forward() sent it upstream (few responses carry a URL).
      const to = `${req.headers["x-forwarded-proto"]}://${req.headers["x-forwarded-host"]}`;
      if (typeof h.location === "string") h.location = rewriteUrl(h.location, target.origins, to);
      if (typeof h.link === "string") h.link = rewriteLink(h.link, target.origins, to);
    }
    if (h[API_VERSION_HEADER] === undefined && req.url?.startsWith("/v2"))
      h[API_VERSION_HEADER] = API_VERSION;
    options.onResponse?.(req, proxyRes);
  });

  proxy.on("error", (err, req, res) => {
    const e = err as NodeJS.ErrnoException;
    options.onUpstreamError?.(e, req);
    if (!res || !("writeHead" in res)) return;
    const sres = res as ServerResponse;
    if (sres.headersSent || req.socket.destroyed) {
      sres.destroy();
      return;
    }
    const answer = upstreamFailureAnswer(e.code);
    writeOciError(sres, "UNAVAILABLE", answer.message, answer.detail, {
      status: answer.status,
      head: req.method === "HEAD",
    });
  });

  return {
    forward(req, res) {
      const origin = requestOrigin(req, trustForwarded, publicUrl);
      const headers = req.headers;
      for (const h of HOP_BY_HOP) delete headers[h];
      applyForwardingHeaders(headers, origin, req.socket.remoteAddress, trustForwarded);
      proxy.web(req, res);
    },
    close() {
      proxy.close();
    },
  };
}
