/**
 * Graceful shutdown of the proxy's listener:
 *   1. readiness fails at once (`/readyz` answers 503);
 *   2. after `drainDelayMs` (time for load balancers and Kubernetes endpoints to
 *      notice), the listening socket closes: no new connections;
 *   3. idle keep-alive connections close at once, busy ones right after their
 *      current response (which carries `Connection: close`);
 *   4. in-flight requests (blob uploads, tag swaps) get `graceMs` to finish;
 *   5. then the remaining connections are destroyed, and the proxy's own handlers
 *      (a tag swap rolling back after its client vanished) get a few more seconds.
 */
import type { Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Readiness } from "./health.js";
import type { Logger } from "./logger.js";
import type { PendingWork } from "./pending-work.js";
import type { RequestTracker } from "./request-tracker.js";

/** After the grace: how long the proxy's own handlers may still run (rollbacks). */
export const HANDLER_SETTLE_MS = 5000;
const IDLE_SWEEP_MS = 250;

export interface DrainOptions {
  server: Server;
  tracker: RequestTracker;
  readiness: Readiness;
  /** Requests the proxy answers itself (Hono handlers) still running. */
  ownedWork: PendingWork;
  logger: Logger;
  graceMs: number;
  drainDelayMs: number;
}

export interface DrainResult {
  /** Requests still running when the grace ran out (their connections were destroyed). */
  cutRequests: number;
}

function whenSettled(work: PendingWork, ms: number): Promise<boolean> {
  if (work.size === 0) return Promise.resolve(true);
  return Promise.race([work.idle().then(() => true), sleep(ms, false, { ref: false })]);
}

export async function drainServer(o: DrainOptions): Promise<DrainResult> {
  const { server, tracker, logger } = o;
  o.readiness.draining = true;
  if (o.drainDelayMs > 0) {
    logger.info({ drainDelayMs: o.drainDelayMs }, "draining: readiness off, still accepting");
    await sleep(o.drainDelayMs);
  }
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const closeIdle = () => server.closeIdleConnections();
  tracker.afterResponse = closeIdle;
  closeIdle();
  // Connections that go idle between two checks (a response ending without the
  // tracker noticing, for example a socket upgrade) are swept regularly.
  const sweep = setInterval(closeIdle, IDLE_SWEEP_MS);
  logger.info({ inFlight: tracker.inFlight, graceMs: o.graceMs }, "listener closed, waiting for requests");
  try {
    const inTime = await Promise.race([
      Promise.all([closed, whenSettled(o.ownedWork, o.graceMs)]).then(() => true),
      sleep(o.graceMs, false, { ref: false }),
    ]);
    if (inTime) return { cutRequests: 0 };
    const cutRequests = tracker.inFlight;
    logger.warn({ inFlight: cutRequests, graceMs: o.graceMs }, "grace period over, closing connections");
    server.closeAllConnections();
    if (!(await whenSettled(o.ownedWork, HANDLER_SETTLE_MS)))
      logger.warn({ pending: o.ownedWork.size }, "handlers still running after the grace period");
    return { cutRequests };
  } finally {
    clearInterval(sweep);
    tracker.afterResponse = null;
  }
}
