/**
 * A stalled upstream cannot starve the passthrough's pool, and a trickling request
 * body cannot hold a connection for ever (the time limits of docs/configuration.md):
 *
 * - upstream.firstByteTimeoutMs: an upstream that accepts and never answers frees
 *   the connection with 504; a slow transfer that has begun is limited by idleness
 *   only, so a slow large pull is never cut while it moves;
 * - upstream.queueMax / queueTimeoutMs: requests beyond maxSockets wait in a bounded
 *   queue and get 503 with Retry-After when it is full or they waited too long;
 * - proxy.minBodyRate: a body trickling in (one byte every few hundred ms here, one
 *   every 5 s in the issue) is cut with 408 and a closed connection, against the
 *   real registry.
 *
 * Scripted raw upstream (test/helpers/raw-upstream.ts) for the stalls; a real
 * docker-registry 2.8 for the uploads.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "../helpers/http.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { RawConns, type RawResponse } from "../helpers/raw-conn.js";
import { answer, type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const LONG = 120_000;

function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: limits.test\r\n\r\n`;
}

function oci(r: RawResponse): { code?: string; detail?: { reason?: string } } {
  return (JSON.parse(r.body.toString()) as { errors: Array<{ code: string; detail?: { reason?: string } }> })
    .errors[0]!;
}

async function metric(proxy: TestProxy, name: string, labels: Record<string, string> = {}) {
  const text = (await request("GET", `${proxy.proxy.metricsUrl() ?? proxy.url}/metrics`)).text;
  return sampleValue(parseMetrics(text), name, labels) ?? 0;
}

/** Waits until `cond` holds, failing only after a deadline that catches hangs. */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("passthrough time limits and the bounded queue (scripted stalled upstream)", () => {
  let upstream: RawUpstream;
  const proxies: TestProxy[] = [];
  const conns = new RawConns();

  before(async () => {
    // "?stall" is accepted and never answered; "?slow" sends its head, then a byte every 1.3 s.
    upstream = await startRawUpstream(({ socket, line }) => {
      if (line.includes("stall")) return;
      if (line.includes("slow")) {
        socket.write(
          "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\n\r\n",
        );
        let sent = 0;
        const timer = setInterval(() => {
          socket.write("x");
          if (++sent === 3) clearInterval(timer);
        }, 1300);
        socket.once("close", () => clearInterval(timer));
        return;
      }
      answer(socket, '{"ok":true}');
    });
  });
  after(async () => {
    conns.destroyAll();
    for (const p of proxies) await p.stop();
    await upstream.stop();
  });

  async function proxyWith(upstreamSection: Record<string, unknown>): Promise<TestProxy> {
    const p = await startProxy(upstream.url, {
      upstream: { idleTimeoutMs: LONG, ...upstreamSection },
      proxy: { clientIdleTimeoutMs: LONG },
      metrics: { port: 0 },
      log: { level: "error" },
    });
    proxies.push(p);
    return p;
  }

  it("GET the upstream accepts and never answers → 504 UNAVAILABLE (reason timeout) after upstream.firstByteTimeoutMs, though idleTimeoutMs is 120 s", async () => {
    const proxy = await proxyWith({ firstByteTimeoutMs: 800 });
    const c = await conns.open(proxy.port);
    const t0 = Date.now();
    c.write(get("/v2/?stall=ttfb"));
    const r = await c.read("GET", 60_000);
    assert.equal(r.status, 504, r.body.toString());
    assert.equal(oci(r).code, "UNAVAILABLE");
    assert.equal(oci(r).detail?.reason, "timeout");
    assert.ok(Date.now() - t0 >= 750, `answered after ${Date.now() - t0} ms`);
    assert.equal(await metric(proxy, "rcp_upstream_errors_total", { kind: "timeout" }), 1);
  });

  it("GET on a reused upstream connection that then never answers → 504 (reason timeout) after upstream.firstByteTimeoutMs: the limit is set again for every exchange", async () => {
    const proxy = await proxyWith({ firstByteTimeoutMs: 800, maxSockets: 1 });
    const c = await conns.open(proxy.port);
    c.write(get("/v2/?ok=1"));
    assert.equal((await c.read("GET", 10_000)).status, 200);
    c.write(get("/v2/?slow=2"));
    assert.equal((await c.read("GET", 60_000)).body.toString(), "xxx");
    const t0 = Date.now();
    c.write(get("/v2/?stall=reused"));
    const r = await c.read("GET", 60_000);
    assert.equal(r.status, 504, r.body.toString());
    assert.equal(oci(r).detail?.reason, "timeout");
    assert.ok(Date.now() - t0 >= 750, `answered after ${Date.now() - t0} ms`);
    // One upstream connection (maxSockets 1) carried all three exchanges.
    assert.equal(
      new Set(upstream.seen.filter((x) => /ok=1|slow=2|stall=reused/.test(x.line)).map((x) => x.conn)).size,
      1,
    );
  });

  it("GET with `Expect: 100-continue` the upstream never answers → answered (502) after upstream.firstByteTimeoutMs, not left hanging", async () => {
    const proxy = await proxyWith({ firstByteTimeoutMs: 800 });
    const c = await conns.open(proxy.port);
    const t0 = Date.now();
    c.write("GET /v2/?stall=expect HTTP/1.1\r\nHost: limits.test\r\nExpect: 100-continue\r\n\r\n");
    // Node's server answers `100 Continue` itself; the final answer follows.
    let r = await c.read("GET", 60_000);
    if (r.status === 100) r = await c.read("GET", 60_000);
    // The limit fires (http-proxy-3's own timer for this request: no proxyReq event before
    // 100-continue); the exchange is reported as cut (502), as before.
    assert.ok(r.status === 502 || r.status === 504, `${r.status} ${r.body.toString()}`);
    assert.ok(Date.now() - t0 >= 750, `answered after ${Date.now() - t0} ms`);
  });

  it("a download whose bytes keep moving, each gap longer than firstByteTimeoutMs, is not cut: the first-byte limit ends with the response head", async () => {
    const proxy = await proxyWith({ firstByteTimeoutMs: 1000 });
    const c = await conns.open(proxy.port);
    c.write(get("/v2/?slow=1"));
    const r = await c.read("GET", 60_000);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "xxx");
  });

  it("a stalled upstream holding every pooled connection: a healthy request waits in the queue and is served once the stalled ones time out (504)", async () => {
    const proxy = await proxyWith({
      maxSockets: 2,
      queueMax: 4,
      queueTimeoutMs: 20_000,
      firstByteTimeoutMs: 1000,
    });
    const stalled = await Promise.all([conns.open(proxy.port), conns.open(proxy.port)]);
    for (const [i, c] of stalled.entries()) c.write(get(`/v2/?stall=${i}`));
    await until(() => upstream.seen.filter((x) => /stall=[01]/.test(x.line)).length === 2, "2 stalled");
    const healthy = await conns.open(proxy.port);
    healthy.write(get("/v2/?healthy"));
    await until(
      async () => (await metric(proxy, "rcp_upstream_waiting")) === 1,
      "the healthy request queued",
    );
    const [a, b] = await Promise.all(stalled.map((c) => c.read("GET", 60_000)));
    assert.deepEqual([a!.status, b!.status], [504, 504]);
    const r = await healthy.read("GET", 60_000);
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.body.toString(), '{"ok":true}');
  });

  it("more requests than maxSockets + queueMax → 503 UNAVAILABLE with Retry-After at once (queue-full); a queued one that waits past queueTimeoutMs → 503 (queue-timeout)", async () => {
    const proxy = await proxyWith({ maxSockets: 2, queueMax: 1, queueTimeoutMs: 700, firstByteTimeoutMs: 0 });
    const before = upstream.seen.length;
    const held = await Promise.all([conns.open(proxy.port), conns.open(proxy.port)]);
    for (const [i, c] of held.entries()) c.write(get(`/v2/?stall=held-${i}`));
    await until(() => upstream.seen.length === before + 2, "2 requests holding the pool");
    const queued = await conns.open(proxy.port);
    queued.write(get("/v2/?queued"));
    await until(async () => (await metric(proxy, "rcp_upstream_waiting")) === 1, "one waiting");
    const t0 = Date.now();
    const over = await conns.open(proxy.port);
    over.write(get("/v2/?over"));
    const full = await over.read("GET", 60_000);
    assert.equal(full.status, 503, full.body.toString());
    assert.equal(oci(full).code, "UNAVAILABLE");
    assert.equal(oci(full).detail?.reason, "queue-full");
    assert.equal(full.headers["retry-after"], "5");
    assert.equal(full.headers.connection, "close");
    assert.ok(Date.now() - t0 < 600, "queue-full is answered at once");
    const late = await queued.read("GET", 60_000);
    assert.equal(late.status, 503, late.body.toString());
    assert.equal(oci(late).detail?.reason, "queue-timeout");
    assert.equal(late.headers["retry-after"], "5");
    assert.equal(upstream.seen.length, before + 2, "neither refused request reached the upstream");
    assert.equal(await metric(proxy, "rcp_upstream_busy_total", { reason: "queue-full" }), 1);
    assert.equal(await metric(proxy, "rcp_upstream_busy_total", { reason: "queue-timeout" }), 1);
  });
});

describe("a minimum rate for request bodies (real registry)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  const conns = new RawConns();

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, {
      proxy: { minBodyRate: 200, minBodyRateWindowMs: 500, clientIdleTimeoutMs: LONG },
      upstream: { idleTimeoutMs: LONG },
      metrics: { port: 0 },
      log: { level: "error" },
    });
  });
  after(async () => {
    conns.destroyAll();
    await proxy?.stop();
    await registry?.stop();
  });

  async function uploadPath(repo: string): Promise<string> {
    const start = await request("POST", `${proxy.url}/v2/${repo}/blobs/uploads/`);
    assert.equal(start.status, 202, start.text);
    const loc = new URL(start.headers.location as string);
    return `${loc.pathname}${loc.search}`;
  }

  it("PATCH upload whose body trickles in one byte at a time → 408 (OCI error, Connection: close), then the connection is closed", async () => {
    const path = await uploadPath("limits/trickle");
    const c = await conns.open(proxy.port);
    c.write(
      `PATCH ${path} HTTP/1.1\r\nHost: limits.test\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n`,
    );
    const trickle = setInterval(() => {
      if (!c.closed) c.write("z");
    }, 250);
    try {
      const t0 = Date.now();
      const r = await c.read("PATCH", 30_000);
      assert.equal(r.status, 408, r.body.toString());
      assert.equal(r.headers.connection, "close");
      assert.match(r.body.toString(), /too slowly/);
      await c.whenClosed;
      assert.ok(Date.now() - t0 < 5000, `cut after ${Date.now() - t0} ms`);
    } finally {
      clearInterval(trickle);
    }
    assert.equal(await metric(proxy, "rcp_request_body_too_slow_total"), 1);
  });

  it("PATCH upload at a modest rate above the minimum (1 KiB every 100 ms for 2 s) is not cut: 202", async () => {
    const path = await uploadPath("limits/steady");
    const c = await conns.open(proxy.port);
    const total = 20 * 1024;
    c.write(
      `PATCH ${path} HTTP/1.1\r\nHost: limits.test\r\nContent-Type: application/octet-stream\r\nContent-Length: ${total}\r\n\r\n`,
    );
    for (let sent = 0; sent < total; sent += 1024) {
      c.write(Buffer.alloc(1024, 1));
      await sleep(100);
    }
    const r = await c.read("PATCH", 30_000);
    assert.equal(r.status, 202, r.body.toString());
    assert.equal(r.headers.range, `0-${total - 1}`);
  });
});
