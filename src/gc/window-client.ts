/**
 * The proxy's read-only window as `gc` holds it: enter (waiting for writes in
 * flight), renew the lease in the background, leave. Over the admin listener,
 * through the one client of the proxy's own calls, with the admin token.
 */
import { ADMIN_WINDOW_PATH } from "../ops/admin-app.js";
import { ADMIN_IDENTITY_PATH, type AdminIdentity } from "../ops/admin-identity.js";
import { createRegistryClient } from "../registry-client/client.js";
import { asCaller } from "../registry-client/credentials.js";
import type { HttpResponse } from "../registry-client/http.js";

export interface InFlight {
  method: string;
  path: string;
}

export interface HeldWindow {
  /** The lease id (the `rcp-maintenance-lease` header of the holder's own deletes). */
  lease: string;
  /** Writes still running when the proxy stopped waiting. */
  gaveUpOn: InFlight[];
  /**
   * Stops renewing and leaves, reporting what was done (the proxy's metrics and log);
   * never throws (a lease left behind expires by itself).
   */
  leave(report?: { manifestsDeleted: number; bytesFreed: number }): Promise<boolean>;
}

export class WindowError extends Error {
  override readonly name: string = "WindowError";
}

/** The admin endpoint answered 401: no admin token was sent, or not the right one. */
export class WindowUnauthorizedError extends WindowError {
  override readonly name = "WindowUnauthorizedError";
  constructor(
    readonly adminUrl: string,
    readonly tokenSent: boolean,
  ) {
    super(
      `read-only window: ${adminUrl} answered 401: ${tokenSent ? "the admin token was refused" : "it wants an admin token"}`,
    );
  }
}

/** `adminToken`: sent as `Authorization: Bearer` on every admin request (null: none). */
export async function enterWindow(
  adminUrl: string,
  holder: string,
  leaseMs: number,
  adminToken: string | null = null,
): Promise<HeldWindow> {
  // Entering waits for writes in flight (maintenance.writeWaitMs, at most 10 minutes).
  const admin = createRegistryClient({ url: adminUrl, timeoutMs: 30_000 + 600_000 });
  const client = admin.as(asCaller(adminToken === null ? {} : { authorization: `Bearer ${adminToken}` }));
  const path = ADMIN_WINDOW_PATH;
  const json = { "content-type": "application/json" };
  let res: HttpResponse;
  try {
    res = await client.request({
      method: "POST",
      path,
      headers: json,
      body: Buffer.from(JSON.stringify({ holder, leaseMs })),
    });
  } catch (err) {
    await admin.close();
    throw new WindowError(`read-only window: ${adminUrl} unreachable (${(err as Error).message})`);
  }
  if (res.status === 401) {
    await admin.close();
    throw new WindowUnauthorizedError(adminUrl, adminToken !== null);
  }
  if (res.status !== 200) {
    await admin.close();
    throw new WindowError(`read-only window not entered: ${res.status} ${res.body.toString().trim()}`);
  }
  const body = JSON.parse(res.body.toString()) as { lease: { id: string }; gaveUpOn: InFlight[] };
  const lease = body.lease.id;
  // Renewed at a third of the lease: two renewals may fail before it lapses.
  const timer = setInterval(
    () => {
      client
        .request({
          method: "PUT",
          path: `${path}/${lease}`,
          headers: json,
          body: Buffer.from(JSON.stringify({ leaseMs })),
          timeoutMs: Math.max(1000, leaseMs / 3),
        })
        .catch(() => {});
    },
    Math.max(250, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  let left: Promise<boolean> | null = null;
  return {
    lease,
    gaveUpOn: body.gaveUpOn,
    leave(report) {
      left ??= (async () => {
        clearInterval(timer);
        try {
          const r = await client.request({
            method: "DELETE",
            path: `${path}/${lease}`,
            headers: report ? json : {},
            ...(report ? { body: Buffer.from(JSON.stringify(report)) } : {}),
            timeoutMs: 10_000,
          });
          return r.status === 204;
        } catch {
          return false;
        } finally {
          await admin.close();
        }
      })();
      return left;
    },
  };
}

/**
 * What the proxy behind `adminUrl` fronts (GET /admin/upstream). Throws
 * WindowUnauthorizedError on 401, a WindowError saying what to fix otherwise.
 */
export async function fetchIdentity(adminUrl: string, adminToken: string | null): Promise<AdminIdentity> {
  const admin = createRegistryClient({ url: adminUrl, timeoutMs: 30_000 });
  const client = admin.as(asCaller(adminToken === null ? {} : { authorization: `Bearer ${adminToken}` }));
  try {
    const res = await client.request({ method: "GET", path: ADMIN_IDENTITY_PATH }).catch((err: Error) => {
      throw new WindowError(
        `cannot reach the proxy's admin listener at ${adminUrl} (${err.message}): is the proxy running? ` +
          "Give its admin listener with --admin URL (metrics.port), or run gc beside it with its data dir (DATA_DIR)",
      );
    });
    if (res.status === 401) throw new WindowUnauthorizedError(adminUrl, adminToken !== null);
    if (res.status !== 200) {
      throw new WindowError(
        `the admin listener at ${adminUrl} does not say which registry its proxy fronts (GET ${ADMIN_IDENTITY_PATH} ` +
          `answered ${res.status}): is it a registry-compat-proxy of this version?`,
      );
    }
    return JSON.parse(res.body.toString()) as AdminIdentity;
  } finally {
    await admin.close();
  }
}
