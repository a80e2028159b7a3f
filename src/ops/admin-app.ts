/**
 * The admin listener's Hono app (`metrics.port`, or the embedded mode's loopback
 * port), never on the public port. One route per endpoint, errors as OCI error
 * JSON like the main app's:
 *
 *   GET    /metrics                  Prometheus metrics (no token needed)
 *   GET    /admin/read-only          state: read-only or not, lease holder and expiry, writes in flight
 *   POST   /admin/read-only          enter: {"holder","leaseMs"} → 200 {lease, gaveUpOn} or 409 (held)
 *   PUT    /admin/read-only/:lease   renew: {"leaseMs"} → 200 {lease} or 404
 *   DELETE /admin/read-only/:lease   leave, optionally reporting {"manifestsDeleted","bytesFreed"} → 204 or 404
 *   GET    /admin/upstream           which registry this proxy fronts, and where its API listens (admin-identity.ts)
 *   /admin/history/...               the tag history's own app (src/history/admin-app.ts)
 *
 * With an admin token configured, every `/admin/...` request must carry it
 * (`Authorization: Bearer <token>`), or gets 401 before anything else is looked at.
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { methodNotAllowed } from "hono/method-not-allowed";
import { ociErrorHandler, ociErrorResponse } from "../http/write-error.js";
import { OciError } from "../oci/errors.js";
import { ADMIN_REALM } from "./admin-auth.js";
import { ADMIN_IDENTITY_PATH, type AdminIdentity } from "./admin-identity.js";
import type { Logger } from "./logger.js";
import { type Metrics, renderMetrics } from "./metrics.js";
import { type WindowControl, WindowUnavailableError } from "./write-window.js";

export const ADMIN_WINDOW_PATH = "/admin/read-only";
const MAX_BODY = 64 * 1024;
const DEFAULT_LEASE_MS = 60_000;

export interface AdminAppOptions {
  metrics: Metrics;
  window: WindowControl;
  /** How long entering waits for writes in flight (`maintenance.writeWaitMs`). */
  writeWaitMs: number;
  logger: Logger;
  /** Checks a request's Authorization header (admin-auth.ts); null: no token, every request passes. */
  authorize: ((authorization: string | undefined) => boolean) | null;
  /** A request refused for want of the right token. */
  onRefused?(): void;
  /** What the holder reports when it leaves (gc: manifests deleted, bytes freed), for metrics and the log. */
  onReport?(report: { holder: string; manifestsDeleted: number; bytesFreed: number }): void;
  /**
   * Further admin apps (the tag history, src/history/admin-app.ts), each answering
   * its path prefix and every path below it, behind the same token.
   */
  apps?: ReadonlyArray<{ prefix: string; app: Hono }>;
  /** What `GET /admin/upstream` answers (null until the proxy listens). */
  identity?(): AdminIdentity | null;
}

/** 401 for every `/admin` request without the admin token (when one is set). */
function requireAdminToken(o: AdminAppOptions): MiddlewareHandler {
  return async (c, next) => {
    const authorization = c.req.header("authorization");
    if (o.authorize === null || o.authorize(authorization)) return next();
    o.onRefused?.();
    o.logger.debug({ method: c.req.method, path: c.req.path }, "admin request refused: no valid admin token");
    throw new OciError(
      "UNAUTHORIZED",
      authorization !== undefined
        ? "admin token refused"
        : "admin token required: Authorization: Bearer <token>",
      null,
      { headers: { "www-authenticate": `Bearer realm="${ADMIN_REALM}"` } },
    );
  };
}

/** A JSON object body (empty: `{}`), or 400. */
async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw badRequest("not an object");
  return parsed as Record<string, unknown>;
}

function badRequest(why: string): OciError {
  return new OciError("UNSUPPORTED", `bad request: ${why}`, undefined, { status: 400 });
}

function positiveInt(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fallback;
}

function count(v: unknown): number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

const noSuchLease = () =>
  new OciError("UNSUPPORTED", "no such lease (expired or left)", undefined, { status: 404 });

/** The read-only window's four endpoints. */
function addWindowRoutes(app: Hono, o: AdminAppOptions): void {
  const { window, logger } = o;
  const limit = bodyLimit({ maxSize: MAX_BODY, onError: () => Promise.reject(badRequest("body too large")) });

  app.get(ADMIN_WINDOW_PATH, (c) => c.json(window.state()));

  app.post(ADMIN_WINDOW_PATH, limit, async (c) => {
    const body = await jsonBody(c.req.raw);
    const holder = typeof body["holder"] === "string" ? body["holder"].slice(0, 200) : "unnamed";
    const result = await window.enter(holder, positiveInt(body["leaseMs"], DEFAULT_LEASE_MS), o.writeWaitMs);
    if (!result.ok) {
      const detail = { heldBy: result.heldBy, expiresAt: result.expiresAt };
      throw new OciError("DENIED", `read-only window held by ${result.heldBy}`, detail, { status: 409 });
    }
    if (result.gaveUpOn.length > 0)
      logger.warn(
        { holder, writes: result.gaveUpOn },
        "read-only window entered with writes still in flight",
      );
    if (result.replicas && result.replicas.missing.length > 0)
      logger.warn({ holder, missing: result.replicas.missing }, "read-only window: replicas did not confirm");
    return c.json({
      lease: result.lease,
      gaveUpOn: result.gaveUpOn,
      ...(result.replicas ? { replicas: result.replicas } : {}),
    });
  });

  app.put(`${ADMIN_WINDOW_PATH}/:lease`, limit, async (c) => {
    const body = await jsonBody(c.req.raw);
    const lease = await window.renew(c.req.param("lease"), positiveInt(body["leaseMs"], DEFAULT_LEASE_MS));
    if (lease === null) throw noSuchLease();
    return c.json({ lease });
  });

  app.delete(`${ADMIN_WINDOW_PATH}/:lease`, limit, async (c) => {
    const body = await jsonBody(c.req.raw);
    const holder = window.state().lease?.holder ?? "";
    if (!(await window.leave(c.req.param("lease")))) throw noSuchLease();
    if ("manifestsDeleted" in body || "bytesFreed" in body) {
      o.onReport?.({
        holder,
        manifestsDeleted: count(body["manifestsDeleted"]),
        bytesFreed: count(body["bytesFreed"]),
      });
    }
    return c.body(null, 204);
  });
}

export function createAdminApp(o: AdminAppOptions): Hono {
  const app = new Hono();
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        ociErrorResponse(
          new OciError("METHOD_UNKNOWN", `method ${c.req.method} not allowed`, undefined, {
            headers: { allow: methods.join(", ") },
          }),
          c.req.method === "HEAD",
        ),
    }),
  );
  app.use("/admin/*", requireAdminToken(o));
  app.get("/metrics", async (c) => {
    const { contentType, body } = await renderMetrics(o.metrics);
    return c.body(body, 200, { "content-type": contentType });
  });
  addWindowRoutes(app, o);
  const identity = o.identity;
  if (identity) {
    app.get(ADMIN_IDENTITY_PATH, (c) => {
      const answer = identity();
      if (answer === null) {
        throw new OciError("UNAVAILABLE", "the proxy is not listening yet", undefined, {
          headers: { "retry-after": "1" },
        });
      }
      return c.json(answer);
    });
  }
  for (const sub of o.apps ?? []) {
    const answer = (c: Context) => sub.app.fetch(c.req.raw);
    app.all(sub.prefix, answer);
    app.all(`${sub.prefix}/*`, answer);
  }
  app.notFound((c) =>
    ociErrorResponse(
      new OciError("UNSUPPORTED", "no such endpoint on the admin listener", undefined, { status: 404 }),
      c.req.method === "HEAD",
    ),
  );
  app.onError(
    ociErrorHandler((err, c) => {
      if (err instanceof WindowUnavailableError) {
        // Replicas: without Redis the window cannot be held on every replica; refuse rather than pretend.
        return new OciError("UNAVAILABLE", err.message, undefined, { headers: { "retry-after": "5" } });
      }
      o.logger.error({ err, method: c.req.method, path: c.req.path }, "admin request failed");
      return null;
    }),
  );
  return app;
}
