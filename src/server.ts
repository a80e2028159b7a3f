import { randomUUID } from "node:crypto";
/**
 * The HTTP(S) server: builds the proxy once, in named steps (its dependencies,
 * deps.ts; the read-only window and the admin listener, maintenance.ts; the data
 * path, here), hands every request to the request listener (listener.ts) and
 * owns the lifecycle: listening, the admin listener, graceful shutdown. Creating
 * is separate from listening, so tests bind port 0.
 */
import { readFileSync } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createApp } from "./app.js";
import type { Config } from "./config.js";
import { type AppDeps, type AppDepsOptions, createAppDeps } from "./deps.js";
import { MAX_HEADER_SIZE } from "./http/head-size.js";
import { localUrl } from "./http/local-url.js";
import { ProxiedRequest } from "./http/proxied-request.js";
import { createRequestListener, passthroughHooks } from "./listener.js";
import { adminAddress, createAdminServer, createWindows, startSweeper, warnIfOpen } from "./maintenance.js";
import type { AdminIdentity } from "./ops/admin-identity.js";
import { createAccessLog } from "./ops/logger.js";
import { PendingWork } from "./ops/pending-work.js";
import { createRequestTracker, TrackedResponse } from "./ops/request-tracker.js";
import { type DrainResult, drainServer } from "./ops/shutdown.js";
import type { WriteWindow } from "./ops/write-window.js";
import { createAdmission } from "./upstream/admission.js";
import { createPassthrough } from "./upstream/passthrough.js";
import { STREAM_HIGH_WATER_MARK, type UpstreamTarget } from "./upstream/target.js";
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

export interface CreateProxyOptions extends AppDepsOptions {
  /** The embedded registry this proxy started, for `GET /admin/upstream` (gc checks it). */
  embedded?: AdminIdentity["embedded"];
}

function urlOf(server: http.Server, tls: boolean): string {
  const a = server.address() as AddressInfo | null;
  if (!a) throw new Error("proxy is not listening");
  return localUrl(a.address, a.port, tls);
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

function closeServer(server: http.Server | null): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * The data path: every request enters the listener; owned ones go to the Hono
 * app, uploads the guard knows get its look, the rest streams through the
 * passthrough (listener.ts).
 */
function createDataPath(deps: AppDeps, target: UpstreamTarget, window: WriteWindow) {
  const { config, metrics, readiness, caller, logger } = deps;
  // Chunked-upload semantics (README "OCI distribution-spec 1.1 through the proxy").
  const uploads = config.oci.strictUploads
    ? createUploadSessions({ max: config.oci.uploadSessionsMax, ttlMs: config.oci.uploadSessionTtlMs })
    : null;
  const tracker = createRequestTracker({ metrics, access: createAccessLog(logger) });
  const ownedWork = new PendingWork();
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
  return { listener, tracker, ownedWork, passthrough };
}

/** The http or https server (llhttp) in front of the listener; not listening yet. */
function createHttpServer(config: Config, listener: ReturnType<typeof createRequestListener>): http.Server {
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
  const server = (isTls(config)
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
  return server;
}

function isTls(config: Config): boolean {
  return Boolean(config.listen.tlsCert && config.listen.tlsKey);
}

/** What `GET /admin/upstream` answers: the registry this proxy fronts and where its API listens (null until it does). */
function proxyIdentity(
  server: http.Server,
  target: UpstreamTarget,
  config: Config,
  embedded: AdminIdentity["embedded"],
): () => AdminIdentity | null {
  const instance = randomUUID();
  return () =>
    server.listening
      ? {
          instance,
          upstream: target.url.href.replace(/\/+$/, ""),
          embedded,
          proxy: {
            port: (server.address() as AddressInfo).port,
            tls: isTls(config),
            publicUrl: config.proxy.publicUrl,
          },
        }
      : null;
}

export function createProxyServer(options: CreateProxyOptions): ProxyServer {
  const { config, logger } = options;
  const { deps, target, shared, window } = createAppDeps(options);
  const windows = createWindows(config, deps.metrics, logger, shared, window);
  const { listener, tracker, ownedWork, passthrough } = createDataPath(deps, target, windows.window);
  const server = createHttpServer(config, listener);
  const admin = adminAddress(config);
  const identity = proxyIdentity(server, target, config, options.embedded ?? null);
  const adminServer: http.Server | null = createAdminServer(deps, windows.control, identity);
  const stopSweeper = shared ? startSweeper(deps) : () => {};

  let stopping: Promise<DrainResult> | null = null;
  function shutdown(o: { graceMs?: number; drainDelayMs?: number } = {}): Promise<DrainResult> {
    stopping ??= drainServer({
      server,
      tracker,
      readiness: deps.readiness,
      ownedWork,
      logger,
      graceMs: o.graceMs ?? config.shutdown.graceMs,
      drainDelayMs: o.drainDelayMs ?? 0,
    }).then(async (result) => {
      passthrough.close();
      target.agent.destroy();
      stopSweeper();
      deps.tagDeleter.close();
      await deps.registry.close();
      await deps.history.close();
      await windows.shared?.close();
      await shared?.close();
      await closeServer(adminServer);
      return result;
    });
    return stopping;
  }

  return {
    server,
    deps,
    metricsServer: adminServer,
    window: windows.window,
    async listen(port = config.listen.port, host = config.listen.host) {
      // Reads serve without Redis; give it a moment so the first deletes find it.
      if (shared) await shared.connected(2000);
      const address = await listenOn(server, port, host);
      if (adminServer) {
        try {
          await listenOn(adminServer, admin.port, admin.host ?? host);
        } catch (err) {
          server.close();
          throw err;
        }
        warnIfOpen(adminServer, config, logger);
      }
      return address;
    },
    shutdown,
    async close() {
      await shutdown();
    },
    url: () => urlOf(server, isTls(config)),
    metricsUrl: () => (adminServer?.listening ? urlOf(adminServer, false) : null),
  };
}
