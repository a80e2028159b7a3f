/**
 * The HTTP(S) server: one Node request listener that parses the route, hands the
 * requests the proxy owns to the Hono app and streams everything else straight
 * to the upstream. Creating is separate from listening, so tests bind port 0.
 * Every request is counted, timed and logged by the request tracker.
 */
import { readFileSync } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { type AppDeps, createApp } from "./app.js";
import type { Config } from "./config.js";
import { ownsRequest } from "./handlers/ownership.js";
import { MAX_HEADER_SIZE } from "./http/head-size.js";
import { routeOf, setRoute } from "./http/route-context.js";
import { writeOciError } from "./http/write-error.js";
import { API_METHODS, parseRoute, splitPathQuery } from "./oci/routes.js";
import { createChangeFeed } from "./ops/change-feed.js";
import { createReadiness } from "./ops/health.js";
import { createAccessLog, type Logger } from "./ops/logger.js";
import { createMetrics, type Metrics } from "./ops/metrics.js";
import { createMetricsServer } from "./ops/metrics-endpoint.js";
import { REQUEST_ID_HEADER } from "./ops/request-id.js";
import { createRequestTracker, TrackedResponse } from "./ops/request-tracker.js";
import { type DrainResult, drainServer } from "./ops/shutdown.js";
import { countUpstreamErrors, upstreamErrorKind } from "./ops/upstream-errors.js";
import { createTagListCache } from "./tags/list-cache.js";
import { createUpstreamClient } from "./upstream/client.js";
import { createPassthrough } from "./upstream/passthrough.js";
import { createUpstreamTarget, STREAM_HIGH_WATER_MARK } from "./upstream/target.js";
import { createUploadGuard, observeUploadResponse } from "./upstream/upload-guard.js";
import { createUploadSessions } from "./upstream/upload-sessions.js";

export interface ProxyServer {
  readonly server: http.Server;
  readonly deps: AppDeps;
  /** The admin listener for `/metrics` when `metrics.port` is set. */
  readonly metricsServer: http.Server | null;
  /** Resolves with the bound address (the admin listener starts too). */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /**
   * Graceful stop (see ops/shutdown.ts): readiness off, listener closed, in-flight
   * requests finish within the grace, then everything is closed.
   */
  shutdown(options?: { graceMs?: number; drainDelayMs?: number }): Promise<DrainResult>;
  /** shutdown() with the configured grace and no drain delay. */
  close(): Promise<void>;
  /** The proxy's own URL once listening (for tests and logs). */
  url(): string;
  /** The admin listener's URL, or null. */
  metricsUrl(): string | null;
}

export interface CreateProxyOptions {
  config: Config;
  /** The upstream URL: config.upstream.url or the embedded registry's. */
  upstreamUrl: string;
  logger: Logger;
  /** Defaults to a fresh registry per server. */
  metrics?: Metrics;
}

function urlOf(server: http.Server, tls: boolean): string {
  const a = server.address() as AddressInfo | null;
  if (!a) throw new Error("proxy is not listening");
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return `${tls ? "https" : "http"}://${host === "0.0.0.0" ? "127.0.0.1" : host === "[::]" ? "[::1]" : host}:${a.port}`;
}

function listenOn(server: http.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export function createProxyServer(options: CreateProxyOptions): ProxyServer {
  const { config, logger } = options;
  const target = createUpstreamTarget(config, options.upstreamUrl);
  const metrics = options.metrics ?? createMetrics({ repositoryLabel: config.metrics.repositoryLabel });
  const upstream = countUpstreamErrors(createUpstreamClient(target), metrics);
  const publicUrl = config.proxy.publicUrl ? new URL(config.proxy.publicUrl) : null;
  const caller = { trustForwarded: config.proxy.trustForwardedHeaders, publicUrl };
  const changes = createChangeFeed();
  const tagLists = createTagListCache({
    ttlMs: config.tags.cacheTtlMs,
    maxEntries: config.tags.cacheMaxEntries,
    changes,
    lookups: metrics.cache,
  });
  const readiness = createReadiness();
  const deps: AppDeps = {
    config,
    upstream,
    logger,
    readiness,
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
  const tracker = createRequestTracker({ metrics, access: createAccessLog(logger) });
  const ownedWork = new Set<Promise<unknown>>();
  const upstreamFailed = (
    err: NodeJS.ErrnoException,
    method: string | undefined,
    path: string,
    requestId: unknown,
  ) => {
    const kind = upstreamErrorKind(err);
    metrics.upstreamErrors.inc({ kind });
    logger.warn({ code: err.code, kind, method, path, requestId }, "upstream exchange failed");
  };
  const passthrough = createPassthrough({
    target,
    trustForwarded: caller.trustForwarded,
    publicUrl,
    onUpstreamError: (err, req) =>
      upstreamFailed(err, req.method, splitPathQuery(req.url ?? "/").path, req.headers[REQUEST_ID_HEADER]),
    onResponse: (req, proxyRes) => {
      // While draining, the connection closes after this response.
      if (readiness.draining) proxyRes.headers.connection = "close";
      const route = routeOf(req);
      const status = proxyRes.statusCode ?? 0;
      // A manifest written or deleted through the proxy changes the repository's tags.
      const method = req.method;
      if (route.kind === "manifest" && (method === "PUT" || method === "DELETE") && status < 300) {
        changes.repositoryChanged(route.name);
      }
      if (uploads !== null) observeUploadResponse(uploads, req, route, status, proxyRes.headers);
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

  function listener(req: IncomingMessage, res: TrackedResponse): void {
    const method = req.method ?? "GET";
    const path = splitPathQuery(req.url ?? "/").path;
    tracker.begin(req, res, path);
    if (readiness.draining) res.setHeader("connection", "close");
    if (!API_METHODS.has(method)) {
      writeOciError(res, "METHOD_UNKNOWN", `method ${method} is not allowed`, undefined, {
        headers: { allow: [...API_METHODS].join(", ") },
      });
      return;
    }
    const route = parseRoute(method, path);
    setRoute(req, route);
    if (route.kind === "invalid") {
      // Answered here, before any framework parses the target; the connection is
      // closed so that an unread hostile body is not read as a next request.
      tracker.label(res, route, true);
      writeOciError(res, route.code, route.message, route.detail, {
        head: method === "HEAD",
        headers: { connection: "close" },
      });
      return;
    }
    const owned = ownsRequest(route, method, ownership);
    tracker.label(res, route, owned);
    if (owned) {
      const work = honoListener(req, res);
      ownedWork.add(work);
      const forget = () => ownedWork.delete(work);
      work.then(forget, forget);
      return;
    }
    if (uploadGuard !== null && route.kind === "upload" && uploadGuard.intercept(req, res, route)) return;
    passthrough.forward(req, res);
  }

  const tls = Boolean(config.listen.tlsCert && config.listen.tlsKey);
  const serverOptions: http.ServerOptions<typeof IncomingMessage, typeof TrackedResponse> = {
    ServerResponse: TrackedResponse,
    // Blob transfers may take as long as they need; only idleness is limited.
    requestTimeout: 0,
    headersTimeout: config.proxy.headersTimeoutMs,
    keepAliveTimeout: 65_000,
    maxHeaderSize: MAX_HEADER_SIZE,
    highWaterMark: STREAM_HIGH_WATER_MARK,
  };
  const server = (tls
    ? https.createServer(
        {
          ...serverOptions,
          cert: readFileSync(config.listen.tlsCert as string),
          key: readFileSync(config.listen.tlsKey as string),
        },
        listener,
      )
    : http.createServer(serverOptions, listener)) as unknown as http.Server;
  server.setTimeout(config.proxy.clientIdleTimeoutMs);
  // No 'connect' listener: Node's server closes a CONNECT's connection without an
  // answer (no tunnels; CONNECT never reaches the request listener).
  const metricsServer = config.metrics.port === null ? null : createMetricsServer(metrics, logger);

  let stopping: Promise<DrainResult> | null = null;
  function shutdown(o: { graceMs?: number; drainDelayMs?: number } = {}): Promise<DrainResult> {
    stopping ??= drainServer({
      server,
      tracker,
      readiness,
      ownedWork,
      logger,
      graceMs: o.graceMs ?? config.shutdown.graceMs,
      drainDelayMs: o.drainDelayMs ?? 0,
    }).then(async (result) => {
      passthrough.close();
      target.agent.destroy();
      if (metricsServer?.listening) {
        await new Promise<void>((resolve) => {
          metricsServer.close(() => resolve());
          metricsServer.closeAllConnections();
        });
      }
      return result;
    });
    return stopping;
  }

  return {
    server,
    deps,
    metricsServer,
    async listen(port = config.listen.port, host = config.listen.host) {
      const address = await listenOn(server, port, host);
      if (metricsServer && config.metrics.port !== null) {
        try {
          await listenOn(metricsServer, config.metrics.port, host);
        } catch (err) {
          server.close();
          throw err;
        }
      }
      return address;
    },
    shutdown,
    async close() {
      await shutdown();
    },
    url: () => urlOf(server, tls),
    metricsUrl: () => (metricsServer?.listening ? urlOf(metricsServer, false) : null),
  };
}
