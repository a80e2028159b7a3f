/**
 * The HTTP(S) server: one Node request listener that parses the route, hands the
 * requests the proxy owns to the Hono app and streams everything else straight
 * to the upstream. Creating is separate from listening, so tests bind port 0.
 */
import { readFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { getRequestListener } from "@hono/node-server";
import { type AppDeps, createApp } from "./app.js";
import type { Config } from "./config.js";
import { ownsRequest } from "./handlers/ownership.js";
import { routeOf, setRoute } from "./http/route-context.js";
import { refuseConnect, writeOciError } from "./http/write-error.js";
import { API_METHODS, parseRoute, splitPathQuery } from "./oci/routes.js";
import { createChangeFeed } from "./ops/change-feed.js";
import { createReadiness } from "./ops/health.js";
import type { Logger } from "./ops/logger.js";
import { createMetrics, type Metrics } from "./ops/metrics.js";
import { createTagListCache } from "./tags/list-cache.js";
import { createUpstreamClient } from "./upstream/client.js";
import { createPassthrough } from "./upstream/passthrough.js";
import { createUpstreamTarget } from "./upstream/target.js";
import { createUploadGuard, observeUploadResponse } from "./upstream/upload-guard.js";
import { createUploadSessions } from "./upstream/upload-sessions.js";

export interface ProxyServer {
  readonly server: http.Server;
  readonly deps: AppDeps;
  /** Resolves with the bound address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish, then closes idle sockets. */
  close(): Promise<void>;
  /** The proxy's own URL once listening (for tests and logs). */
  url(): string;
}

export interface CreateProxyOptions {
  config: Config;
  /** The upstream URL: config.upstream.url or the embedded registry's. */
  upstreamUrl: string;
  logger: Logger;
  /** Defaults to a fresh registry per server. */
  metrics?: Metrics;
}

export function createProxyServer(options: CreateProxyOptions): ProxyServer {
  const { config, logger } = options;
  const target = createUpstreamTarget(config, options.upstreamUrl);
  const upstream = createUpstreamClient(target);
  const publicUrl = config.proxy.publicUrl ? new URL(config.proxy.publicUrl) : null;
  const caller = { trustForwarded: config.proxy.trustForwardedHeaders, publicUrl };
  const metrics = options.metrics ?? createMetrics();
  const changes = createChangeFeed();
  const tagLists = createTagListCache({
    ttlMs: config.tags.cacheTtlMs,
    maxEntries: config.tags.cacheMaxEntries,
    changes,
    lookups: metrics.cache,
  });
  const deps: AppDeps = {
    config,
    upstream,
    logger,
    readiness: createReadiness(),
    caller,
    metrics,
    changes,
    tagLists,
  };
  const app = createApp(deps);
  const honoListener = getRequestListener(app.fetch);
  const ownership = { referrers: config.oci.referrers };
  // Chunked-upload semantics (README "OCI distribution-spec 1.1 through the proxy").
  const uploads = config.oci.strictUploads
    ? createUploadSessions({ max: config.oci.uploadSessionsMax, ttlMs: config.oci.uploadSessionTtlMs })
    : null;
  const passthrough = createPassthrough({
    target,
    trustForwarded: caller.trustForwarded,
    publicUrl,
    onUpstreamError: (err, req) =>
      logger.warn({ code: err.code, method: req.method, url: req.url }, "upstream exchange failed"),
    onResponse: (req, proxyRes) => {
      // A manifest written or deleted through the proxy changes the repository's tags.
      const method = req.method;
      if ((method === "PUT" || method === "DELETE") && (proxyRes.statusCode ?? 0) < 300) {
        const route = routeOf(req);
        if (route.kind === "manifest") changes.repositoryChanged(route.name);
      }
      if (uploads !== null)
        observeUploadResponse(uploads, req, routeOf(req), proxyRes.statusCode ?? 0, proxyRes.headers);
    },
  });
  const uploadGuard =
    uploads === null
      ? null
      : createUploadGuard({
          sessions: uploads,
          upstream,
          caller,
          forward: passthrough.forward,
          logger,
          metrics,
        });

  function listener(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? "GET";
    if (!API_METHODS.has(method)) {
      writeOciError(res, "METHOD_UNKNOWN", `method ${method} is not allowed`, undefined, {
        headers: { allow: [...API_METHODS].join(", ") },
      });
      return;
    }
    const route = parseRoute(method, splitPathQuery(req.url ?? "/").path);
    setRoute(req, route);
    if (route.kind === "invalid") {
      // Answered here, before any framework parses the target; the connection is
      // closed so that an unread hostile body is not read as a next request.
      writeOciError(res, route.code, route.message, route.detail, {
        head: method === "HEAD",
        headers: { connection: "close" },
      });
      return;
    }
    if (ownsRequest(route, method, ownership)) {
      void honoListener(req, res);
      return;
    }
    if (uploadGuard !== null && route.kind === "upload" && uploadGuard.intercept(req, res, route)) return;
    passthrough.forward(req, res);
  }

  const tls = config.listen.tlsCert && config.listen.tlsKey;
  const serverOptions: http.ServerOptions = {
    // Blob transfers may take as long as they need; only idleness is limited.
    requestTimeout: 0,
    headersTimeout: config.proxy.headersTimeoutMs,
    keepAliveTimeout: 65_000,
    maxHeaderSize: 16 * 1024,
  };
  const server: http.Server = tls
    ? https.createServer(
        {
          ...serverOptions,
          cert: readFileSync(config.listen.tlsCert as string),
          key: readFileSync(config.listen.tlsKey as string),
        },
        listener,
      )
    : http.createServer(serverOptions, listener);
  server.setTimeout(config.proxy.clientIdleTimeoutMs);
  // CONNECT never reaches the request listener: refuse it here (no tunnels).
  server.on("connect", (req: IncomingMessage, socket: Duplex) => refuseConnect(req, socket));

  return {
    server,
    deps,
    listen(port = config.listen.port, host = config.listen.host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        deps.readiness.draining = true;
        server.close(() => {
          passthrough.close();
          target.agent.destroy();
          resolve();
        });
        server.closeIdleConnections();
      });
    },
    url() {
      const a = server.address() as AddressInfo | null;
      if (!a) throw new Error("proxy is not listening");
      const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
      return `${tls ? "https" : "http"}://${host === "0.0.0.0" ? "127.0.0.1" : host}:${a.port}`;
    },
  };
}
