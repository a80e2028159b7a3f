/**
 * The proxy's maintenance side, beside the data path: the read-only window
 * (held on every replica through Redis when there are several), the admin
 * listener that drives it (and answers the tag history's admin endpoints and
 * which registry the proxy fronts), and
 * the replicas' sweep of unfinished tag deletes.
 * Built once by server.ts from the proxy's dependencies.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { Config } from "./config.js";
import type { AppDeps } from "./deps.js";
import { createHistoryAdminApp, HISTORY_ADMIN_PATH } from "./history/admin-app.js";
import { createAdminApp } from "./ops/admin-app.js";
import { createAdminAuth, unauthenticatedAdminWarning } from "./ops/admin-auth.js";
import type { AdminIdentity } from "./ops/admin-identity.js";
import type { Logger } from "./ops/logger.js";
import type { Metrics } from "./ops/metrics.js";
import { localControl, type WindowControl, type WriteWindow } from "./ops/write-window.js";
import type { SharedState } from "./state/redis.js";
import { createSharedWindow, type SharedWindow } from "./state/shared-window.js";

export interface Windows {
  /** This proxy's window: what its listener enforces. */
  window: WriteWindow;
  /** What the admin endpoints drive: this window, or the replicas' shared one. */
  control: WindowControl;
  /** The replicas' shared window (state.redisUrl), or null. */
  shared: SharedWindow | null;
}

/** This proxy's read-only window (made with the dependencies: undeletes respect it too), its gauge, and with replicas its shared form. */
export function createWindows(
  config: Config,
  metrics: Metrics,
  logger: Logger,
  shared: SharedState | null,
  window: WriteWindow,
): Windows {
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
  return { window, control: sharedWindow ?? localControl(window), shared: sharedWindow };
}

/**
 * Where the admin listener listens: `metrics.port`, or else an ephemeral loopback
 * port (published in the data dir by `serve`, ops/admin-address.ts) so that `gc`
 * run beside the proxy finds the read-only window with no flag, in embedded mode
 * and in front of any upstream.
 */
export function adminAddress(config: Config): { port: number; host: string | null } {
  if (config.metrics.port !== null) return { port: config.metrics.port, host: null };
  return { port: 0, host: "127.0.0.1" };
}

/** The admin listener (not listening yet): the admin app on a plain-http server. */
export function createAdminServer(
  deps: AppDeps,
  control: WindowControl,
  identity: () => AdminIdentity | null,
): http.Server {
  const { config, metrics, logger } = deps;
  const app = createAdminApp({
    metrics,
    window: control,
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
    identity,
  });
  return http.createServer(getRequestListener(app.fetch));
}

/** Logs the start-up warning an unauthenticated admin listener off loopback deserves. */
export function warnIfOpen(admin: http.Server, config: Config, logger: Logger): void {
  const bound = (admin.address() as AddressInfo).address;
  const warning = unauthenticatedAdminWarning(bound, config.metrics.adminToken);
  if (warning) logger.warn({ admin: bound }, warning);
}

/**
 * Replicas: every `state.sweepIntervalMs`, finish the swaps a dead replica left in
 * the shared journal (one sweep at a time). Returns the function that stops it.
 */
export function startSweeper(deps: AppDeps): () => void {
  const { config, logger } = deps;
  if (config.state.sweepIntervalMs <= 0) return () => {};
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    deps.tagDeleter
      .sweep(config.state.redisLeaseMs)
      .catch((err: unknown) => logger.error({ err }, "shared journal sweep failed"))
      .finally(() => {
        sweeping = false;
      });
  }, config.state.sweepIntervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
