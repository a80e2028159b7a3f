import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createApp } from "./app.js";
import { type AppDeps, type AppDepsOptions, createAppDeps } from "./deps.js";
import { createHistoryAdminApp, HISTORY_ADMIN_PATH } from "./history/admin-app.js";
import { MAX_HEADER_SIZE } from "./http/head-size.js";
import { localUrl } from "./http/local-url.js";
import { ProxiedRequest } from "./http/proxied-request.js";
import { createRequestListener, passthroughHooks } from "./listener.js";
import { type AdminAppOptions, createAdminApp } from "./ops/admin-app.js";
import { createAdminAuth, unauthenticatedAdminWarning } from "./ops/admin-auth.js";
import { createAccessLog } from "./ops/logger.js";
import { createRequestTracker, TrackedResponse } from "./ops/request-tracker.js";
import { type DrainResult, drainServer } from "./ops/shutdown.js";
import { localControl, type WriteWindow } from "./ops/write-window.js";
import { createSharedWindow } from "./state/shared-window.js";
import { createAdmission } from "./upstream/admission.js";
import { createPassthrough } from "./upstream/passthrough.js";
import { STREAM_HIGH_WATER_MARK } from "./upstream/target.js";
import { createUploadGuard } from "./upstream/upload-guard.js";
import { createUploadSessions } from "./upstream/upload-sessions.js";

export interface ProxyServer {
  readonly server: http.Server;
  readonly deps: AppDeps;
  /** The admin listener for `/metrics` and `/admin/` when `metrics.port` is set. */
  readonly metricsServer: http.Server | null;
  /** The read-only window (garbage collection), entered on the admin listener. */
  readonly window: WriteWindow;
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

export type CreateProxyOptions = AppDepsOptions;

function urlOf(server: http.Server, tls: boolean): string {
  const a = server.address() as AddressInfo | null;
  if (!a) throw new Error("proxy is not listening");
  return localUrl(a.address, a.port, tls);
}

/** The admin listener (not listening yet): the admin app on a plain-http server. */
function adminServer(o: AdminAppOptions): http.Server {
  return http.createServer(getRequestListener(createAdminApp(o).fetch));
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
  const { deps, target, shared, window } = createAppDeps(options);
  const { metrics, readiness, caller } = deps;
  // Chunked-upload semantics (README "OCI distribution-spec 1.1 through the proxy").
  const uploads = config.oci.strictUploads
    ? createUploadSessions({ max: config.oci.uploadSessionsMax, ttlMs: config.oci.uploadSessionTtlMs })
    : null;
  const tracker = createRequestTracker({ metrics, access: createAccessLog(logger) });
  const ownedWork = new Set<Promise<unknown>>();
  const passthrough = createPassthrough({
    target,
    trustForwarded: caller.trustForwarded,
    publicUrl: caller.publicUrl,
    ...passthroughHooks({ readiness, changes: deps.changes, uploads, metrics, logger }),
  });
  // At most maxSockets exchanges at once; the rest wait in a bounded queue (503 beyond it).
  const admission = createAdmission({
    maxActive: config.upstream.maxSockets,
    queueMax: config.upstream.queueMax,
    queueTimeoutMs: config.upstream.queueTimeoutMs,
    onRefused: (reason) => metrics.upstreamBusy.inc({ reason }),
  });
  metrics.beforeCollect.add(() => metrics.upstreamWaiting.set(admission.waiting));
  const forward = admission.wrap(passthrough.forward);
  const uploadGuard =
    uploads === null
      ? null
      : createUploadGuard({
          sessions: uploads,
          registry: deps.registry,
          caller,
          forward,
          logger,
          metrics,
        });
  // Expiry is noticed when asked: each scrape asks, so the gauge never shows a lapsed lease.
  metrics.beforeCollect.add(() => window.readOnly());
  // Replicas: the window is entered on one admin endpoint and held on every replica.
  const sharedWindow = shared
    ? createSharedWindow({
        shared,
        window,
        maxLeaseMs: config.maintenance.maxLeaseMs,
        writeWaitMs: config.maintenance.writeWaitMs,
        logger,
      })
    : null;
  const listener = createRequestListener({
    window,
    metrics,
    tracker,
    readiness,
    ownership: deps.ownership,
    answerOwned: getRequestListener(createApp(deps).fetch),
    ownedWork,
    uploadGuard,
    forward,
    bodyRate: {
      minBytesPerSecond: config.proxy.minBodyRate,
      windowMs: config.proxy.minBodyRateWindowMs,
      onTooSlow(req, bytes) {
        metrics.slowBodies.inc();
        logger.warn(
          { method: req.method, path: (req.url ?? "/").split("?", 1)[0], bytes },
          "request body too slow: cut",
        );
      },
    },
  });

  const tls = Boolean(config.listen.tlsCert && config.listen.tlsKey);
  const serverOptions: http.ServerOptions<typeof IncomingMessage, typeof TrackedResponse> = {
    // Per-request state in fields, not WeakMaps (http/proxied-request.ts).
    IncomingMessage: ProxiedRequest,
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
  // The admin listener: on metrics.port, or else on an ephemeral loopback port (published
  // in the data dir by `serve`, src/ops/admin-address.ts) so that `gc` run beside the proxy
  // finds the read-only window with no flag, in embedded mode and in front of any upstream.
  const admin =
    config.metrics.port !== null ? { port: config.metrics.port, host: null } : { port: 0, host: "127.0.0.1" };
  const instance = randomUUID();
  const metricsServer: http.Server | null = adminServer({
    metrics,
    window: sharedWindow ?? localControl(window),
    writeWaitMs: config.maintenance.writeWaitMs,
    logger,
    authorize: config.metrics.adminToken === null ? null : createAdminAuth(config.metrics.adminToken),
    onRefused: () => metrics.adminRefused.inc(),
    onReport(report) {
      metrics.gcManifestsDeleted.inc(report.manifestsDeleted);
      metrics.gcBytesFreed.inc(report.bytesFreed);
      logger.info(report, "garbage collection reported");
    },
    apps: [{ prefix: HISTORY_ADMIN_PATH, app: createHistoryAdminApp(deps.history, logger) }],
    identity: () =>
      server.listening
        ? {
            instance,
            upstream: target.url.href.replace(/\/+$/, ""),
            embedded: options.embedded ?? null,
            proxy: {
              port: (server.address() as AddressInfo).port,
              tls,
              publicUrl: config.proxy.publicUrl,
            },
          }
        : null,
  });

  // Replicas: finish the swaps a dead replica left in the shared journal.
  let sweeping = false;
  const sweeper =
    shared && config.state.sweepIntervalMs > 0
      ? setInterval(() => {
          if (sweeping) return;
          sweeping = true;
          deps.tagDeleter
            .sweep(config.state.redisLeaseMs)
            .catch((err: unknown) => logger.error({ err }, "shared journal sweep failed"))
            .finally(() => {
              sweeping = false;
            });
        }, config.state.sweepIntervalMs)
      : null;
  sweeper?.unref();

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
      if (sweeper) clearInterval(sweeper);
      deps.tagDeleter.close();
      await deps.registry.close();
      await deps.history.close();
      await sharedWindow?.close();
      await shared?.close();
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
    window,
    async listen(port = config.listen.port, host = config.listen.host) {
      // Reads serve without Redis; give it a moment so the first deletes find it.
      if (shared) await shared.connected(2000);
      const address = await listenOn(server, port, host);
      if (metricsServer) {
        try {
          await listenOn(metricsServer, admin.port, admin.host ?? host);
        } catch (err) {
          server.close();
          throw err;
        }
        const bound = (metricsServer.address() as AddressInfo).address;
        const warning = unauthenticatedAdminWarning(bound, config.metrics.adminToken);
        if (warning) logger.warn({ admin: bound }, warning);
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
