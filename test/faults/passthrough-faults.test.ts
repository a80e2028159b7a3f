/**
 * The passthrough against upstream faults a real registry will not produce on
 * demand, scripted on raw TCP (test/helpers/raw-upstream.ts): kept-alive sockets
 * the upstream closes, truncated and malformed responses (502 OCI JSON before the
 * head, a cut connection after it), an oversized response head, an upstream that
 * never answers or leaves in the middle of an upload, a client leaving
 * mid-download, a refused connection, and the pool's socket limit under 400
 * stalled downloads.
 *
 * The cut tests run with upstream.idleTimeoutMs and proxy.clientIdleTimeoutMs at
 * 120 s: a pass proves the cut came from the upstream's close, not a timeout.
 */
import assert from "node:assert/strict";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import { after, before, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "../helpers/http.js";
import { closedPort } from "../helpers/net.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { RawConn, RawConns, type RawResponse } from "../helpers/raw-conn.js";
import { answer, type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.js";

const QUICK_IDLE_MS = 1000;
const LONG = 120_000;
const BLOB = `/v2/a/blobs/sha256:${"a".repeat(64)}`;

function get(path: string, method = "GET"): string {
  return `${method} ${path} HTTP/1.1\r\nHost: faults.test\r\n\r\n`;
}

function assertOciUnavailable(r: RawResponse, status: number): void {
  assert.equal(r.status, status, r.body.toString());
  assert.equal(r.headers["docker-distribution-api-version"], "registry/2.0");
  assert.match(r.headers["content-type"] ?? "", /^application\/json/);
  const body = JSON.parse(r.body.toString()) as { errors: Array<{ code: string }> };
  assert.equal(body.errors[0]?.code, "UNAVAILABLE");
}

/** Waits until `cond` holds, failing only after a deadline that catches hangs. */
async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("passthrough upstream faults (scripted raw upstream)", () => {
  let upstream: RawUpstream;
  /** Timeouts far beyond any test: what happens here is not a timeout's doing. */
  let proxy: TestProxy;
  /** upstream.idleTimeoutMs at 1 s, for the upstream that never answers. */
  let quick: TestProxy;
  const conns = new RawConns();
  const conn = (p = proxy) => conns.open(p.port);

  before(async () => {
    upstream = await startRawUpstream();
    // The catalog passed through (catalog.listEmpty): these tests stream its body.
    proxy = await startProxy(upstream.url, {
      upstream: { idleTimeoutMs: LONG },
      proxy: { clientIdleTimeoutMs: LONG },
      catalog: { listEmpty: true },
    });
    quick = await startProxy(upstream.url, { upstream: { idleTimeoutMs: QUICK_IDLE_MS } });
  });
  beforeEach(() => {
    // Every test starts with no pooled upstream socket left from the one before.
    for (let i = 0; i < upstream.connections(); i++)
      upstream.seen.find((x) => x.conn === i)?.socket.destroy();
  });
  after(async () => {
    conns.destroyAll();
    await proxy.stop();
    await quick.stop();
    await upstream.stop();
  });

  it("GET after the upstream closed the kept-alive socket right after answering → 200 on a new connection", async () => {
    upstream.script = ({ socket }) => {
      answer(socket, '{"ok":1}');
      socket.end();
    };
    const c = await conn();
    for (let i = 0; i < 3; i++) {
      c.write(get(`/v2/?after-close=${i}`));
      const r = await c.read();
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), '{"ok":1}');
      // The pool drops the socket once its FIN arrives; the next request connects anew.
      const used = upstream.seen.find((x) => x.line.includes(`after-close=${i}`))!.conn;
      await upstream.whenClosed(used);
    }
    const used = new Set(upstream.seen.filter((x) => x.line.includes("after-close=")).map((x) => x.conn));
    assert.equal(used.size, 3, "three connections, one per request");
  });

  it("GET on a stale pooled socket (the upstream closes it on the next request, unanswered) → retried once on a fresh connection → 200", async () => {
    const firstConn = upstream.connections();
    upstream.script = ({ socket, index }) => {
      if (index === 0) answer(socket, '{"n":1}');
      else socket.destroy(); // a keep-alive socket the upstream was closing
    };
    const c = await conn();
    c.write(get("/v2/?stale=1"));
    assert.equal((await c.read()).status, 200);
    c.write(get("/v2/?stale=2"));
    const r = await c.read();
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.body.toString(), '{"n":1}');
    const attempts = upstream.seen.filter((x) => x.line.includes("?stale=2"));
    assert.deepEqual(
      attempts.map((x) => [x.conn - firstConn, x.index]),
      [
        [0, 1],
        [1, 0],
      ],
      "the reused socket, then one fresh connection",
    );
  });

  it("GET whose retry fails too → 502 UNAVAILABLE, not retried a second time; the client connection survives", async () => {
    const firstConn = upstream.connections();
    upstream.script = ({ socket, index, conn: n }) => {
      if (index === 0 && n === firstConn) answer(socket);
      else socket.destroy();
    };
    const c = await conn();
    c.write(get("/v2/?twice=1"));
    assert.equal((await c.read()).status, 200);
    c.write(get("/v2/?twice=2"));
    assertOciUnavailable(await c.read(), 502);
    const attempts = upstream.seen.filter((x) => x.line.includes("?twice=2"));
    assert.equal(attempts.length, 2, "one request on the reused socket, one retry");
    upstream.script = ({ socket }) => answer(socket);
    c.write(get("/v2/?twice=3"));
    assert.equal((await c.read()).status, 200);
    assert.equal(upstream.seen.filter((x) => x.line.includes("?twice=2")).length, 2, "never a third attempt");
  });

  it("PUT with a body on a stale pooled socket → 502 UNAVAILABLE, never replayed", async () => {
    const firstConn = upstream.connections();
    upstream.script = ({ socket, index, conn: n }) => {
      if (index === 0 && n === firstConn) answer(socket);
      else socket.destroy();
    };
    const c = await conn();
    c.write(get("/v2/?put=1"));
    assert.equal((await c.read()).status, 200);
    c.write("PUT /v2/a/manifests/t?put=2 HTTP/1.1\r\nHost: faults.test\r\nContent-Length: 2\r\n\r\n{}");
    assertOciUnavailable(await c.read(), 502);
    assert.equal(upstream.seen.filter((x) => x.line.includes("?put=2")).length, 1);
  });

  it("GET with a fresh socket the upstream closes unanswered → 502 UNAVAILABLE, sent once", async () => {
    upstream.script = ({ socket }) => socket.destroy();
    const before = upstream.seen.length;
    const c = await conn();
    c.write(get("/v2/?fresh-close"));
    assertOciUnavailable(await c.read(), 502);
    assert.equal(upstream.seen.length - before, 1);
  });

  it("GET blob whose upstream promises Content-Length 10, sends 3 bytes and closes → head, 3 bytes, then the client connection is cut at once", async (t) => {
    let closedAt = 0;
    upstream.script = ({ socket }) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n\r\n");
      setTimeout(() => {
        socket.end("abc", () => {
          closedAt = performance.now();
        });
      }, 50);
    };
    const scrape = async () => parseMetrics((await request("GET", `${proxy.url}/metrics`)).text);
    const resets = (m: ReturnType<typeof parseMetrics>) =>
      sampleValue(m, "rcp_upstream_errors_total", { kind: "reset" }) ?? 0;
    const aborted = (m: ReturnType<typeof parseMetrics>) =>
      sampleValue(m, "rcp_requests_total", { route: "blob", method: "GET", status: "aborted" }) ?? 0;
    const before = await scrape();
    const c = await conn();
    c.write(`GET ${BLOB} HTTP/1.1\r\nHost: faults.test\r\nX-Request-Id: cut-short-1\r\n\r\n`);
    await assert.rejects(c.read(), /connection (ended|failed).*10-byte body/);
    await c.whenClosed;
    const cutAfterMs = performance.now() - closedAt;
    t.diagnostic(`client cut ${cutAfterMs.toFixed(1)} ms after the upstream closed`);
    const got = c.unread.toString("latin1");
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(got, /content-length: 10\r\n/i);
    assert.ok(got.endsWith("\r\n\r\nabc"), JSON.stringify(got.slice(-20)));
    // One access line (aborted) and one count; the break is one upstream error, not two.
    await until(
      () =>
        proxy.logs().some((l) => l.includes('"requestId":"cut-short-1"') && l.includes('"msg":"request"')),
      "the access line",
    );
    const lines = proxy
      .logs()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l["msg"] === "request" && l["requestId"] === "cut-short-1");
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!["aborted"], true);
    const after = await scrape();
    assert.equal(aborted(after) - aborted(before), 1);
    assert.equal(resets(after) - resets(before), 1);
  });

  it("GET blob whose upstream sends the head and closes before any body byte → 502 UNAVAILABLE, none of the upstream's headers", async () => {
    upstream.script = ({ socket }) =>
      socket.end(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n" +
          `Docker-Content-Digest: sha256:${"a".repeat(64)}\r\nETag: "x"\r\n\r\n`,
      );
    const c = await conn();
    c.write(get(BLOB));
    const r = await c.read();
    assertOciUnavailable(r, 502);
    assert.equal(r.headers["docker-content-digest"], undefined);
    assert.equal(r.headers.etag, undefined);
    assert.ok(r.headers["x-request-id"]);
    // Answered before anything was sent, so the client's connection stays usable.
    upstream.script = ({ socket }) => answer(socket);
    c.write(get("/v2/"));
    assert.equal((await c.read()).status, 200);
  });

  it("hop-by-hop response headers, and every header the upstream's Connection names, never reach the client", async () => {
    upstream.script = ({ socket }) =>
      answer(socket, "{}", [
        "Connection: keep-alive, X-Hop",
        "X-Hop: 1",
        "Keep-Alive: timeout=1",
        "X-End: 2",
      ]);
    const c = await conn();
    c.write(get("/v2/?hop"));
    const r = await c.read();
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-hop"], undefined);
    assert.equal(r.headers["x-end"], "2");
    assert.equal(r.headers.connection, "keep-alive");
    assert.notEqual(r.headers["keep-alive"], "timeout=1", "the proxy's own keep-alive, not the upstream's");
  });

  it("GET with a malformed upstream status line → 502 UNAVAILABLE in OCI JSON; HEAD gets the same without a body", async () => {
    upstream.script = ({ socket }) => socket.write("HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}");
    const c = await conn();
    c.write(get("/v2/?bad-status"));
    assertOciUnavailable(await c.read(), 502);
    c.write(get("/v2/?bad-status-head", "HEAD"));
    const h = await c.read("HEAD");
    assert.equal(h.status, 502);
    assert.equal(h.headers["docker-distribution-api-version"], "registry/2.0");
    c.write(get("/v2/?after"));
    upstream.script = ({ socket }) => answer(socket);
    const next = await c.read();
    assert.equal(next.status, 200, "no body bytes followed the HEAD answer");
  });

  it("GET with a malformed chunk size in the same read as the head → 502 UNAVAILABLE", async () => {
    upstream.script = ({ socket }) =>
      socket.write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\n",
      );
    const c = await conn();
    c.write(get("/v2/_catalog?bad-chunk-first"));
    assertOciUnavailable(await c.read(), 502);
  });

  for (const [how, later] of [
    ["in its own write", ["2\r\n{}\r\n", "zz\r\n"]],
    ["in the same write as the good chunk", ["2\r\n{}\r\nzz\r\n"]],
  ] as const) {
    it(`GET with a malformed chunk size after the head has left (${how}) → the head and the good chunk, then the connection is cut`, async () => {
      upstream.script = ({ socket }) => {
        socket.write(
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        for (const [i, bytes] of later.entries()) setTimeout(() => socket.write(bytes), 50 * (i + 1));
      };
      const c = await conn();
      c.write(get("/v2/_catalog?bad-chunk-later"));
      await assert.rejects(c.read(), /connection (ended|failed)/);
      await c.whenClosed;
      const got = c.unread.toString("latin1");
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n[\s\S]*transfer-encoding: chunked\r\n/i);
      assert.ok(got.endsWith("\r\n\r\n2\r\n{}\r\n"), JSON.stringify(got.slice(-30)));
    });
  }

  it("GET whose upstream response head exceeds the 16 KiB head limit → 502 UNAVAILABLE", async () => {
    upstream.script = ({ socket }) => answer(socket, "{}", [`X-Big: ${"b".repeat(17 * 1024)}`]);
    const c = await conn();
    c.write(get("/v2/?big-head"));
    assertOciUnavailable(await c.read(), 502);
    // Just under the limit passes.
    upstream.script = ({ socket }) => answer(socket, "{}", [`X-Big: ${"b".repeat(15 * 1024)}`]);
    c.write(get("/v2/?big-head-ok"));
    assert.equal((await c.read()).status, 200);
  });

  it("GET that the upstream never answers → 504 (no answer in time, docs/passthrough.md) after upstream.idleTimeoutMs, not a hang", async () => {
    upstream.script = () => {};
    const c = await conn(quick);
    const t0 = Date.now();
    c.write(get("/v2/?silent"));
    assertOciUnavailable(await c.read("GET", 30_000), 504);
    assert.ok(Date.now() - t0 >= QUICK_IDLE_MS - 50, `answered after ${Date.now() - t0} ms`);
  });

  it("PATCH upload whose upstream leaves in the middle of the body → 502 with Connection: close, then the connection ends", async () => {
    upstream.script = ({ socket }) => {
      socket.once("data", () => socket.destroy()); // the first body bytes arrive: gone
    };
    const c = await conn();
    c.write(
      "PATCH /v2/a/blobs/uploads/0b1c2d3e-aaaa-bbbb-cccc-0123456789ab HTTP/1.1\r\nHost: faults.test\r\n" +
        `Content-Type: application/octet-stream\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`,
    );
    c.write(Buffer.alloc(1024 * 1024, 7)); // the rest is never sent
    const r = await c.read();
    assertOciUnavailable(r, 502);
    assert.equal(r.headers.connection, "close");
    assert.equal(await c.waitEnd(30_000), true, "the proxy closed the connection");
  });

  it("PATCH upload answered 401 before its body is in → the 401 reaches the client with Connection: close, then the connection ends", async () => {
    upstream.script = ({ socket }) => {
      socket.end(
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 2\r\n" +
          'WWW-Authenticate: Basic realm="r"\r\nConnection: close\r\n\r\n{}',
      );
    };
    const c = await conn();
    c.write(
      "PATCH /v2/a/blobs/uploads/0b1c2d3e-aaaa-bbbb-cccc-0123456789ab HTTP/1.1\r\nHost: faults.test\r\n" +
        `Content-Type: application/octet-stream\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`,
    );
    c.write(Buffer.alloc(1024 * 1024, 7)); // the rest is never sent
    const r = await c.read();
    assert.equal(r.status, 401);
    assert.equal(r.headers["www-authenticate"], 'Basic realm="r"');
    assert.equal(r.headers.connection, "close");
    assert.equal(await c.waitEnd(30_000), true, "the proxy closed the connection");
  });

  it("GET blob: a client that disconnects mid-download → the upstream connection is closed", async () => {
    let timer: NodeJS.Timeout | undefined;
    upstream.script = ({ socket }) => {
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${1024 ** 3}\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 1);
      timer = setInterval(() => socket.write(chunk), 5);
      socket.on("close", () => clearInterval(timer));
    };
    const c = await conn();
    c.write(get(`/v2/a/blobs/sha256:${"b".repeat(64)}`));
    await until(() => c.unread.length >= 256 * 1024, "256 KiB of the download");
    const upConn = upstream.seen.at(-1)!.conn;
    c.destroy();
    await Promise.race([
      upstream.whenClosed(upConn),
      sleep(30_000).then(() => assert.fail("the upstream socket was not closed")),
    ]);
    clearInterval(timer);
  });
});

describe("passthrough with the upstream refusing connections", () => {
  let proxy: TestProxy;
  before(async () => {
    proxy = await startProxy(`http://127.0.0.1:${await closedPort()}`);
  });
  after(() => proxy.stop());

  it("GET /v2/ and HEAD of a blob → 503 UNAVAILABLE JSON with the API version header, connection kept", async () => {
    const c = await RawConn.open(proxy.port);
    try {
      c.write(get("/v2/"));
      const r = await c.read();
      assertOciUnavailable(r, 503);
      assert.equal(r.headers.connection, "keep-alive");
      assert.ok(r.headers["x-request-id"]);
      c.write(get(`/v2/a/blobs/sha256:${"c".repeat(64)}`, "HEAD"));
      const h = await c.read("HEAD");
      assert.equal(h.status, 503);
      assert.equal(h.headers["docker-distribution-api-version"], "registry/2.0");
    } finally {
      c.destroy();
    }
  });
});

/**
 * 400 downloads whose bodies stall upstream: the proxy opens at most
 * upstream.maxSockets connections, queues the rest, and serves them all once the
 * bodies flow.
 */
describe("upstream.maxSockets under 400 stalled downloads", () => {
  const DOWNLOADS = 400;
  const SIZE = 64 * 1024;

  async function stalledDownloads(maxSockets: number | undefined): Promise<void> {
    const stalled: net.Socket[] = [];
    let released = false;
    const body = Buffer.alloc(SIZE, 5);
    const upstream = await startRawUpstream(({ socket }) => {
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${SIZE}\r\n\r\n`,
      );
      socket.write(body.subarray(0, 1024));
      if (released) socket.write(body.subarray(1024));
      else stalled.push(socket);
    });
    const overrides = maxSockets === undefined ? {} : { upstream: { maxSockets } };
    const proxy = await startProxy(upstream.url, overrides);
    const limit = proxy.config.upstream.maxSockets;
    const conns = new RawConns();
    try {
      const clients = await Promise.all(Array.from({ length: DOWNLOADS }, () => conns.open(proxy.port)));
      for (const [i, c] of clients.entries())
        c.write(get(`/v2/a/blobs/sha256:${String(i).padStart(64, "0")}`));
      await until(() => upstream.connections() === limit, `${limit} upstream connections`);
      // Every download has reached the proxy (the scrape is the 401st request in flight).
      let inFlight = 0;
      for (;;) {
        const m = parseMetrics((await request("GET", `${proxy.url}/metrics`)).text);
        inFlight = sampleValue(m, "rcp_requests_in_flight") ?? 0;
        if (inFlight >= DOWNLOADS + 1) break;
        await sleep(20);
      }
      assert.equal(upstream.connections(), limit, "only maxSockets connections while the bodies stall");
      released = true;
      for (const s of stalled.splice(0)) s.write(body.subarray(1024));
      const responses = await Promise.all(clients.map((c) => c.read("GET", 60_000)));
      assert.ok(responses.every((r) => r.status === 200 && r.body.length === SIZE));
      assert.equal(upstream.connections(), limit, "the queued downloads reused the same connections");
    } finally {
      conns.destroyAll();
      await proxy.stop();
      await upstream.stop();
    }
  }

  it("maxSockets 16: never more than 16 registry connections, all 400 served", () => stalledDownloads(16));
  it("the default maxSockets: never more than it, all 400 served", () => stalledDownloads(undefined));
});
