/**
 * The admin listener's Hono app in process (app.request()): one route per
 * endpoint, and every error in the main app's shape, OCI error JSON: unknown
 * paths, methods outside an endpoint's (with Allow), bodies that are not JSON
 * objects, a window held by another holder, a lease that is gone, the token.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ADMIN_WINDOW_PATH, createAdminApp } from "../../src/ops/admin-app.js";
import { createAdminAuth } from "../../src/ops/admin-auth.js";
import type { AdminIdentity } from "../../src/ops/admin-identity.js";
import { createLogger } from "../../src/ops/logger.js";
import { createMetrics } from "../../src/ops/metrics.js";
import { createWriteWindow, localControl } from "../../src/ops/write-window.js";

function adminApp(token: string | null = null, identity?: () => AdminIdentity | null) {
  const reports: unknown[] = [];
  const app = createAdminApp({
    ...(identity ? { identity } : {}),
    metrics: createMetrics(),
    window: localControl(createWriteWindow({ maxLeaseMs: 600_000 })),
    writeWaitMs: 100,
    logger: createLogger("silent"),
    authorize: token === null ? null : createAdminAuth(token),
    onReport: (r) => reports.push(r),
  });
  return { app, reports };
}

const json = { "content-type": "application/json" };

async function ociError(res: Response): Promise<{ code: string; message: string; detail?: unknown }> {
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = (await res.json()) as { errors: Array<{ code: string; message: string; detail?: unknown }> };
  assert.equal(body.errors.length, 1);
  return body.errors[0]!;
}

describe("the admin app", () => {
  it("GET /admin/upstream answers the proxy's identity behind the token; 503 UNAVAILABLE before it listens; 405 with Allow for POST", async () => {
    const identity: AdminIdentity = {
      instance: "i-1",
      upstream: "http://127.0.0.1:5000",
      embedded: null,
      proxy: { port: 8080, tls: false, publicUrl: null },
    };
    let listening = false;
    const { app } = adminApp("s3cret", () => (listening ? identity : null));
    const auth = { authorization: "Bearer s3cret" };
    const refused = await app.request("/admin/upstream");
    assert.equal(refused.status, 401);
    assert.equal((await ociError(refused)).code, "UNAUTHORIZED");
    const early = await app.request("/admin/upstream", { headers: auth });
    assert.equal(early.status, 503);
    assert.equal(early.headers.get("retry-after"), "1");
    assert.equal((await ociError(early)).code, "UNAVAILABLE");
    listening = true;
    const res = await app.request("/admin/upstream", { headers: auth });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), identity);
    const post = await app.request("/admin/upstream", { method: "POST", headers: auth });
    assert.equal(post.status, 405);
    assert.match(post.headers.get("allow") ?? "", /GET/);
    assert.equal((await ociError(post)).code, "METHOD_UNKNOWN");
  });

  it("GET /metrics answers Prometheus text; HEAD the same head", async () => {
    const { app } = adminApp();
    const res = await app.request("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await res.text(), /rcp_read_only/);
    assert.equal((await app.request("/metrics", { method: "HEAD" })).status, 200);
  });

  it("enter, state, renew and leave (with a report) through one route each", async () => {
    const { app, reports } = adminApp();
    const entered = await app.request(ADMIN_WINDOW_PATH, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ holder: "gc", leaseMs: 60_000 }),
    });
    assert.equal(entered.status, 200);
    const lease = ((await entered.json()) as { lease: { id: string } }).lease.id;
    const state = (await (await app.request(ADMIN_WINDOW_PATH)).json()) as { readOnly: boolean };
    assert.equal(state.readOnly, true);
    const renewed = await app.request(`${ADMIN_WINDOW_PATH}/${lease}`, {
      method: "PUT",
      headers: json,
      body: "{}",
    });
    assert.equal(renewed.status, 200);
    const left = await app.request(`${ADMIN_WINDOW_PATH}/${lease}`, {
      method: "DELETE",
      headers: json,
      body: JSON.stringify({ manifestsDeleted: 2, bytesFreed: 10 }),
    });
    assert.equal(left.status, 204);
    assert.deepEqual(reports, [{ holder: "gc", manifestsDeleted: 2, bytesFreed: 10 }]);
  });

  it("errors are OCI error JSON: 404, 405 with Allow, 400, 409 and a gone lease", async () => {
    const { app } = adminApp();
    const unknown = await app.request("/admin/other");
    assert.equal(unknown.status, 404);
    assert.equal((await ociError(unknown)).code, "UNSUPPORTED");
    const patch = await app.request(ADMIN_WINDOW_PATH, { method: "PATCH" });
    assert.equal(patch.status, 405);
    assert.equal(patch.headers.get("allow"), "GET, HEAD, POST");
    assert.equal((await ociError(patch)).code, "METHOD_UNKNOWN");
    const bad = await app.request(ADMIN_WINDOW_PATH, { method: "POST", headers: json, body: "[1]" });
    assert.equal(bad.status, 400);
    assert.match((await ociError(bad)).message, /^bad request: not an object/);
    const big = await app.request(ADMIN_WINDOW_PATH, {
      method: "POST",
      headers: json,
      body: "x".repeat(70_000),
    });
    assert.equal(big.status, 400);
    await app.request(ADMIN_WINDOW_PATH, { method: "POST", headers: json, body: '{"holder":"first"}' });
    const held = await app.request(ADMIN_WINDOW_PATH, { method: "POST", headers: json, body: "{}" });
    assert.equal(held.status, 409);
    const heldError = await ociError(held);
    assert.equal(heldError.message, "read-only window held by first");
    assert.equal((heldError.detail as { heldBy: string }).heldBy, "first");
    const gone = await app.request(`${ADMIN_WINDOW_PATH}/nope`, { method: "DELETE" });
    assert.equal(gone.status, 404);
    assert.match((await ociError(gone)).message, /no such lease/);
  });

  it("with a token: 401 UNAUTHORIZED on every /admin path before anything else; /metrics stays open", async () => {
    const { app } = adminApp("t0ken");
    for (const path of ["/admin", "/admin/", ADMIN_WINDOW_PATH, "/admin/other"]) {
      const res = await app.request(path, { method: "POST" });
      assert.equal(res.status, 401, path);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="registry-compat-proxy admin"');
      assert.equal((await ociError(res)).detail, null);
    }
    const ok = await app.request(ADMIN_WINDOW_PATH, { headers: { authorization: "Bearer t0ken" } });
    assert.equal(ok.status, 200);
    assert.equal((await app.request("/metrics")).status, 200);
  });
});
