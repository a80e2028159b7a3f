/**
 * The fast lane against upstream faults a real registry will not produce on
 * demand, scripted on raw TCP (test/helpers/raw-upstream.ts): stale pooled
 * sockets (one retry on a fresh connection, never two), truncated and malformed
 * responses (502 before the head, a cut connection after it), an upstream that
 * never answers, a client leaving mid-download, and a refused connection.
 */
import assert from "node:assert/strict";
import type net from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { closedPort } from "../helpers/net.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { RawConn, RawConns } from "../helpers/raw-conn.js";
import { answer, type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.js";

const IDLE_TIMEOUT_MS = 1000;

function get(path: string, method = "GET"): string {
  return `${method} ${path} HTTP/1.1\r\nHost: lane.test\r\n\r\n`;
}

function assertOciUnavailable(
  r: { status: number; headers: Record<string, string>; body: Buffer },
  status: number,
) {
  assert.equal(r.status, status, r.body.toString());
  assert.equal(r.headers["docker-distribution-api-version"], "registry/2.0");
  assert.match(r.headers["content-type"] ?? "", /^application\/json/);
  const body = JSON.parse(r.body.toString()) as { errors: Array<{ code: string }> };
  assert.equal(body.errors[0]?.code, "UNAVAILABLE");
}

describe("fast lane upstream faults (scripted raw upstream)", () => {
  let upstream: RawUpstream;
  let proxy: TestProxy;
  const conns = new RawConns();
  const conn = () => conns.open(proxy.port);

  before(async () => {
    upstream = await startRawUpstream();
    proxy = await startProxy(upstream.url, { upstream: { idleTimeoutMs: IDLE_TIMEOUT_MS } });
  });
  beforeEach(() => {
    // Every test starts with no pooled upstream socket left from the one before.
    for (let i = 0; i < upstream.connections(); i++)
      upstream.seen.find((x) => x.conn === i)?.socket.destroy();
  });
  after(async () => {
    conns.destroyAll();
    await proxy.stop();
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
      await sleep(30);
    }
  });

  it("GET on a stale pooled socket (upstream closes on its next request, unanswered) → retried once on a fresh connection → 200", async () => {
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

  it("GET whose retry fails too → 502 UNAVAILABLE, not retried a second time", async () => {
    const firstConn = upstream.connections();
    upstream.script = ({ socket, index, conn: n }) => {
      if (index === 0 && n === firstConn) answer(socket);
      else socket.destroy();
    };
    const c = await conn();
    c.write(get("/v2/?twice=1"));
    assert.equal((await c.read()).status, 200);
    c.write(get("/v2/?twice=2"));
    const r = await c.read();
    assertOciUnavailable(r, 502);
    await sleep(200);
    const attempts = upstream.seen.filter((x) => x.line.includes("?twice=2"));
    assert.equal(attempts.length, 2, "one request on the reused socket, one retry");
    assert.equal(upstream.connections() - firstConn, 2);
    // The client connection survives a 502 answered before the head.
    upstream.script = ({ socket }) => answer(socket);
    c.write(get("/v2/?twice=3"));
    assert.equal((await c.read()).status, 200);
  });

  it("GET with a fresh socket the upstream closes unanswered → 502, no retry (nothing stale about it)", async () => {
    upstream.script = ({ socket }) => socket.destroy();
    const before = upstream.seen.length;
    const c = await conn();
    c.write(get("/v2/?fresh-close"));
    assertOciUnavailable(await c.read(), 502);
    await sleep(100);
    assert.equal(upstream.seen.length - before, 1);
  });

  it("GET blob whose upstream announces Content-Length 100000 and closes after 10 bytes → client connection cut, never a short complete body", async () => {
    upstream.script = ({ socket }) => {
      socket.write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n",
      );
      socket.end("0123456789");
    };
    const c = await conn();
    c.write(get(`/v2/a/blobs/sha256:${"a".repeat(64)}`));
    await assert.rejects(c.read(), /connection (ended|failed).*100000-byte body/);
    await c.whenClosed;
    const head = c.unread.toString("latin1");
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /content-length: 100000\r\n/i);
    assert.ok(head.endsWith("\r\n\r\n0123456789"), JSON.stringify(head.slice(-40)));
  });

  it("GET with a malformed upstream status line → 502 UNAVAILABLE in OCI JSON", async () => {
    upstream.script = ({ socket }) => socket.write("HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}");
    const c = await conn();
    c.write(get("/v2/?bad-status"));
    assertOciUnavailable(await c.read(), 502);
    // HEAD gets the same status and headers without the body.
    c.write(get("/v2/?bad-status-head", "HEAD"));
    const h = await c.read("HEAD");
    assert.equal(h.status, 502);
    assert.equal(h.headers["docker-distribution-api-version"], "registry/2.0");
    await sleep(50);
    assert.equal(c.unread.length, 0);
  });

  it("GET with a malformed chunk size in the same read as the head → 502 UNAVAILABLE before any byte of the head", async () => {
    upstream.script = ({ socket }) =>
      socket.write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\n",
      );
    const c = await conn();
    c.write(get("/v2/_catalog?bad-chunk-first"));
    assertOciUnavailable(await c.read(), 502);
  });

  it("GET with a malformed chunk size after the head has left → the client gets the head, then the connection is cut", async () => {
    upstream.script = ({ socket }) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
      setTimeout(() => socket.write("2\r\n{}\r\n"), 50);
      setTimeout(() => socket.write("zz\r\n"), 100);
    };
    const c = await conn();
    c.write(get("/v2/_catalog?bad-chunk-later"));
    await assert.rejects(c.read(), /connection (ended|failed)/);
    await c.whenClosed;
    const got = c.unread.toString("latin1");
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n[\s\S]*transfer-encoding: chunked\r\n/i);
    assert.ok(got.endsWith("\r\n\r\n2\r\n{}\r\n"), JSON.stringify(got.slice(-30)));
  });

  it("GET that the upstream never answers → 502 after upstream.idleTimeoutMs, not a hang", async () => {
    upstream.script = () => {};
    const c = await conn();
    const t0 = Date.now();
    c.write(get("/v2/?silent"));
    const r = await c.read("GET", 10_000);
    assertOciUnavailable(r, 502);
    assert.ok(Date.now() - t0 >= IDLE_TIMEOUT_MS - 50, `answered after ${Date.now() - t0} ms`);
  });

  it("GET blob: a client that disconnects mid-download → the upstream connection is closed", async () => {
    let streaming: net.Socket | null = null;
    let timer: NodeJS.Timeout | undefined;
    upstream.script = ({ socket }) => {
      streaming = socket;
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${1024 ** 3}\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 1);
      timer = setInterval(() => socket.write(chunk), 5);
      socket.on("close", () => clearInterval(timer));
    };
    const c = await conn();
    c.write(get(`/v2/a/blobs/sha256:${"b".repeat(64)}`));
    while (c.unread.length < 256 * 1024) await sleep(10);
    const upConn = upstream.seen.at(-1)!.conn;
    c.destroy();
    await Promise.race([
      upstream.whenClosed(upConn),
      sleep(5000).then(() => assert.fail("the upstream socket was not closed")),
    ]);
    clearInterval(timer);
    assert.ok(streaming !== null);
  });
});

describe("fast lane with the upstream refusing connections", () => {
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
