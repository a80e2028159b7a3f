/**
 * The read-only window's admin endpoints, served on the admin listener
 * (`metrics.port`) only, never on the public port:
 *
 *   GET    /admin/read-only          state: read-only or not, lease holder and expiry, writes in flight
 *   POST   /admin/read-only          enter: {"holder","leaseMs"} → 200 {lease, gaveUpOn} or 409 (held)
 *   PUT    /admin/read-only/<lease>  renew: {"leaseMs"} → 200 {lease} or 404
 *   DELETE /admin/read-only/<lease>  leave, optionally reporting {"manifestsDeleted","bytesFreed"} → 204 or 404
 *   GET    /admin/upstream           which registry this proxy fronts, and where its API listens (admin-identity.ts)
 *
 * Further apps (the tag history, src/history/admin-app.ts) answer their own path
 * prefix behind the same token.
 *
 * With an admin token configured, every `/admin/...` request must carry it
 * (`Authorization: Bearer <token>`), or gets 401 before anything else is looked at.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { refuseAdmin } from "./admin-auth.js";
import { ADMIN_IDENTITY_PATH, type AdminIdentity } from "./admin-identity.js";
import type { Logger } from "./logger.js";
import { type WindowControl, WindowUnavailableError } from "./write-window.js";

export const ADMIN_WINDOW_PATH = "/admin/read-only";
const MAX_BODY = 64 * 1024;

export interface AdminOptions {
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
  /** Other admin endpoints, each answering the paths under its prefix (after the token check). */
  apps?: ReadonlyArray<AdminApp>;
  /** What `GET /admin/upstream` answers (null until the proxy listens). */
  identity?(): AdminIdentity | null;
}

export interface AdminApp {
  /** `/admin/<something>`: the app answers this path and every path below it. */
  prefix: string;
  answer(req: IncomingMessage, res: ServerResponse): unknown;
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error("not an object");
  return parsed as Record<string, unknown>;
}

function positiveInt(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fallback;
}

/** Answers an `/admin/...` request (or refuses it: no token); false when the path is not one of them. */
export function answerAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  o: AdminOptions,
): boolean {
  if (path !== "/admin" && !path.startsWith("/admin/")) return false;
  if (o.authorize && !o.authorize(req.headers.authorization)) {
    o.onRefused?.();
    o.logger.debug({ method: req.method, path }, "admin request refused: no valid admin token");
    refuseAdmin(res, req.headers.authorization !== undefined, req.method === "HEAD");
    return true;
  }
  if (path === ADMIN_IDENTITY_PATH && o.identity) {
    answerIdentity(req, res, o.identity());
    return true;
  }
  const app = o.apps?.find((a) => path === a.prefix || path.startsWith(`${a.prefix}/`));
  if (app) {
    app.answer(req, res);
    return true;
  }
  if (path !== ADMIN_WINDOW_PATH && !path.startsWith(`${ADMIN_WINDOW_PATH}/`)) return false;
  const token = path.length > ADMIN_WINDOW_PATH.length ? path.slice(ADMIN_WINDOW_PATH.length + 1) : null;
  handle(req, res, token, o).catch((err: unknown) => {
    if (res.headersSent) res.destroy();
    else if (err instanceof WindowUnavailableError) {
      // Replicas: without Redis the window cannot be held on every replica; refuse rather than pretend.
      res.setHeader("retry-after", "5");
      send(res, 503, { error: err.message });
    } else send(res, 400, { error: `bad request: ${(err as Error).message}` });
  });
  return true;
}

function answerIdentity(req: IncomingMessage, res: ServerResponse, identity: AdminIdentity | null): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    send(res, 405, { error: `method ${req.method} not allowed` });
  } else if (identity === null) {
    res.setHeader("retry-after", "1");
    send(res, 503, { error: "the proxy is not listening yet" });
  } else send(res, 200, identity);
}

async function handle(req: IncomingMessage, res: ServerResponse, token: string | null, o: AdminOptions) {
  const { window, logger } = o;
  const method = req.method ?? "GET";
  if (token === null && (method === "GET" || method === "HEAD")) {
    send(res, 200, window.state());
    return;
  }
  if (token === null && method === "POST") {
    const body = await readJson(req);
    const holder = typeof body["holder"] === "string" ? body["holder"].slice(0, 200) : "unnamed";
    const result = await window.enter(holder, positiveInt(body["leaseMs"], 60_000), o.writeWaitMs);
    if (!result.ok) {
      send(res, 409, { error: `read-only window held by ${result.heldBy}`, ...result });
      return;
    }
    if (result.gaveUpOn.length > 0)
      logger.warn(
        { holder, writes: result.gaveUpOn },
        "read-only window entered with writes still in flight",
      );
    if (result.replicas && result.replicas.missing.length > 0)
      logger.warn({ holder, missing: result.replicas.missing }, "read-only window: replicas did not confirm");
    send(res, 200, {
      lease: result.lease,
      gaveUpOn: result.gaveUpOn,
      ...(result.replicas ? { replicas: result.replicas } : {}),
    });
    return;
  }
  if (token !== null && method === "PUT") {
    const body = await readJson(req);
    const lease = await window.renew(token, positiveInt(body["leaseMs"], 60_000));
    if (lease === null) send(res, 404, { error: "no such lease (expired or left)" });
    else send(res, 200, { lease });
    return;
  }
  if (token !== null && method === "DELETE") {
    const body = await readJson(req);
    const holder = window.state().lease?.holder ?? "";
    if (!(await window.leave(token))) {
      send(res, 404, { error: "no such lease (expired or left)" });
      return;
    }
    const count = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0);
    if ("manifestsDeleted" in body || "bytesFreed" in body) {
      o.onReport?.({
        holder,
        manifestsDeleted: count(body["manifestsDeleted"]),
        bytesFreed: count(body["bytesFreed"]),
      });
    }
    send(res, 204);
    return;
  }
  res.setHeader("allow", token === null ? "GET, HEAD, POST" : "PUT, DELETE");
  send(res, 405, { error: `method ${method} not allowed` });
}
