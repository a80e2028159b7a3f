/**
 * Client connections through Node's HTTP server and the passthrough, on raw
 * sockets in front of a real docker-registry 2.8 (ported from the tests of the
 * former hand-written lane): keep-alive reuse across passthrough and owned
 * routes, pipelining, split heads, Connection: close, half-close, HEAD framing,
 * Range, chunked upstream responses, access lines and metrics per request,
 * request ids, and one request listener for plain and TLS servers.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import https from "node:https";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import tls from "node:tls";
import { type FakeUpstream, startFakeUpstream } from "../helpers/fake-upstream.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { blobOf, type Image, MT, makeImage, pushBlob, pushImage } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { RawConn, RawConns, type RawResponse } from "../helpers/raw-conn.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { makeCa, type TestCa } from "../helpers/tls.js";

const REPO = "conn/app";
const CATALOG_REPOS = 40;

function get(path: string, headers: string[] = []): string {
  return `GET ${path} HTTP/1.1\r\nHost: conn.test\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`;
}
function headReq(path: string, headers: string[] = []): string {
  return get(path, headers).replace(/^GET/, "HEAD");
}
const ACCEPT = `Accept: ${MT.ociManifest}`;

describe("client connections through the proxy on raw sockets (real docker-registry 2.8)", () => {
  let image: Image;
  const conns = new RawConns();
  // The catalog passed through as the registry sends it (catalog.listEmpty), chunked.
  const fx = useRegistryAndProxy({ proxy: { catalog: { listEmpty: true } } });
  const conn = () => conns.open(fx.proxy.port);
  before(async () => {
    image = makeImage({ layerCount: 1, layerSize: 300_000 });
    await pushImage(fx.registry.url, REPO, image, ["v1", "v2"]);
    const one = blobOf(Buffer.from("catalog"));
    await Promise.all(
      Array.from({ length: CATALOG_REPOS }, (_, i) =>
        pushBlob(fx.registry.url, `conn/chunked-catalog-repository-with-a-long-name-${i}`, one),
      ),
    );
  });
  after(async () => {
    conns.destroyAll();
  });

  it("one keep-alive connection: GET manifest, HEAD blob, POST upload, chunked PATCH, tags list (owned), GET manifest", async () => {
    const c = await conn();
    c.write(get(`/v2/${REPO}/manifests/v1`, [ACCEPT]));
    const m1 = await c.read();
    assert.equal(m1.status, 200);
    assert.deepEqual(m1.body, image.manifest.bytes);
    assert.equal(m1.headers["docker-content-digest"], image.manifest.digest);
    assert.equal(m1.headers["docker-distribution-api-version"], "registry/2.0");
    assert.equal(m1.headers.connection, "keep-alive");

    const layer = image.layers[0]!;
    c.write(headReq(`/v2/${REPO}/blobs/${layer.digest}`));
    const h = await c.read("HEAD");
    assert.equal(h.status, 200);
    assert.equal(Number(h.headers["content-length"]), layer.size);

    c.write(`POST /v2/${REPO}/blobs/uploads/ HTTP/1.1\r\nHost: conn.test\r\nContent-Length: 0\r\n\r\n`);
    const up = await c.read();
    assert.equal(up.status, 202, up.body.toString());
    const location = up.headers.location as string;
    assert.ok(location?.startsWith(`http://conn.test/v2/${REPO}/blobs/uploads/`), location);

    const path = location.slice("http://conn.test".length);
    c.write(
      `PATCH ${path} HTTP/1.1\r\nHost: conn.test\r\nContent-Type: application/octet-stream\r\n` +
        "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    const patched = await c.read();
    assert.equal(patched.status, 202, patched.body.toString());
    assert.equal(patched.headers.range, "0-2");

    c.write(get(`/v2/${REPO}/tags/list`));
    const tags = await c.read();
    assert.equal(tags.status, 200);
    assert.deepEqual(JSON.parse(tags.body.toString()), { name: REPO, tags: ["v1", "v2"] });

    c.write(get(`/v2/${REPO}/manifests/v1`, [ACCEPT]));
    const m2 = await c.read();
    assert.equal(m2.status, 200);
    assert.deepEqual(m2.body, image.manifest.bytes);
    assert.equal(c.ended || c.closed, false);
  });

  it("two pipelined GETs in one write → two responses, in order, each intact; the connection stays usable", async () => {
    const c = await conn();
    c.write(get(`/v2/${REPO}/manifests/v1`, [ACCEPT]) + get(`/v2/${REPO}/blobs/${image.config.digest}`));
    const a = await c.read();
    const b = await c.read();
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, image.manifest.bytes);
    assert.equal(b.status, 200);
    assert.deepEqual(b.body, image.config.bytes);
    c.write(get("/v2/"));
    assert.equal((await c.read()).status, 200);
  });

  it("a GET head split across two writes is answered", async () => {
    const c = await conn();
    const text = get(`/v2/${REPO}/blobs/${image.config.digest}`);
    c.write(text.slice(0, 20));
    await sleep(50);
    c.write(text.slice(20));
    const r = await c.read();
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, image.config.bytes);
  });

  it("GET with Connection: close → the response says close and the proxy ends the socket", async () => {
    const c = await conn();
    c.write(get(`/v2/${REPO}/manifests/v1`, [ACCEPT, "Connection: close"]));
    const r = await c.read();
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, image.manifest.bytes);
    assert.equal(r.headers.connection, "close");
    assert.equal(await c.waitEnd(30_000), true, "the proxy closed the connection");
    assert.equal(c.unread.length, 0);
  });

  it("GET then a half-close (client FIN) → Node's server cancels the request and ends the connection cleanly", async () => {
    // Node's server does not keep a half-open HTTP connection: on the client's FIN
    // it aborts the requests not yet answered and ends its side. (The former lane
    // answered first; no registry client half-closes after a request.)
    const c = await conn();
    c.socket.end(get(`/v2/${REPO}/manifests/v1`, [ACCEPT]));
    assert.equal(await c.waitEnd(30_000), true);
    await c.whenClosed;
    assert.equal(c.ended, true, "ended with a FIN, not a reset");
    assert.equal(c.error, null);
  });

  it("HEAD of a blob → Content-Length of the blob, no body bytes, the connection is reusable", async () => {
    const c = await conn();
    const layer = image.layers[0]!;
    c.write(headReq(`/v2/${REPO}/blobs/${layer.digest}`));
    const h = await c.read("HEAD");
    assert.equal(h.status, 200);
    assert.equal(Number(h.headers["content-length"]), layer.size);
    assert.equal(h.headers["docker-content-digest"], layer.digest);
    // The next response starts right where the HEAD's head ended: no body bytes between.
    c.write(get(`/v2/${REPO}/blobs/${layer.digest}`));
    const g = await c.read();
    assert.equal(g.status, 200);
    assert.deepEqual(g.body, layer.bytes);
  });

  it("GET blob with Range → 206 with the exact slice, on a kept-alive connection", async () => {
    const c = await conn();
    const layer = image.layers[0]!;
    for (const [from, to] of [
      [0, 99],
      [1000, 65_535],
      [layer.size - 10, layer.size - 1],
    ] as const) {
      c.write(get(`/v2/${REPO}/blobs/${layer.digest}`, [`Range: bytes=${from}-${to}`]));
      const r = await c.read();
      assert.equal(r.status, 206);
      assert.equal(r.headers["content-range"], `bytes ${from}-${to}/${layer.size}`);
      assert.deepEqual(r.body, layer.bytes.subarray(from, to + 1));
    }
  });

  it("GET /v2/_catalog (chunked from the registry) arrives intact and the connection stays usable", async () => {
    const direct = await conns.open(Number(new URL(fx.registry.url).port));
    direct.write(get("/v2/_catalog?n=1000"));
    const d = await direct.read();
    assert.equal(d.headers["transfer-encoding"], "chunked", "the registry answers this one chunked");

    const c = await conn();
    c.write(get("/v2/_catalog?n=1000"));
    const r = await c.read();
    assert.equal(r.status, 200);
    assert.equal(r.headers["transfer-encoding"], "chunked");
    assert.equal(r.headers["content-length"], undefined);
    assert.deepEqual(r.body, d.body);
    const repos = JSON.parse(r.body.toString()) as { repositories: string[] };
    assert.equal(repos.repositories.length, CATALOG_REPOS + 1);
    c.write(get("/v2/"));
    const next = await c.read();
    assert.equal(next.status, 200);
    assert.equal(next.body.toString(), "{}");
  });

  it("passthrough requests: one access log line and one count each, with bytes in and out", async () => {
    const metricsBefore = parseMetrics((await request("GET", `${fx.proxy.url}/metrics`)).text);
    const count = (s: ReturnType<typeof parseMetrics>, route: string, method: string, status: string) =>
      sampleValue(s, "rcp_requests_total", { route, method, status }) ?? 0;
    const bytes = (s: ReturnType<typeof parseMetrics>, direction: string) =>
      sampleValue(s, "rcp_proxied_bytes_total", { direction }) ?? 0;

    const c = await conn();
    const layer = image.layers[0]!;
    const reqs = [
      get(`/v2/${REPO}/manifests/v1`, [ACCEPT, "X-Request-Id: conn-log-1"]),
      get(`/v2/${REPO}/manifests/missing`, ["X-Request-Id: conn-log-2"]),
      headReq(`/v2/${REPO}/blobs/${layer.digest}`, ["X-Request-Id: conn-log-3"]),
      get(`/v2/${REPO}/blobs/${layer.digest}`, ["X-Request-Id: conn-log-4"]),
    ];
    const responses: RawResponse[] = [];
    for (const [i, text] of reqs.entries()) {
      c.write(text);
      responses.push(await c.read(i === 2 ? "HEAD" : "GET"));
    }
    assert.deepEqual(
      responses.map((r) => r.status),
      [200, 404, 200, 200],
    );

    // The access line is written when the response closes: wait for all four.
    const lines = () =>
      fx.proxy
        .logs()
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l["msg"] === "request" && String(l["requestId"]).startsWith("conn-log-"));
    const deadline = Date.now() + 30_000;
    while (lines().length < 4 && Date.now() < deadline) await sleep(10);
    const logged = lines();
    assert.equal(logged.length, 4, JSON.stringify(logged));
    for (const [i, line] of logged.entries()) {
      assert.equal(line["requestId"], `conn-log-${i + 1}`);
      assert.equal(line["status"], responses[i]!.status);
      assert.equal(line["bytesIn"], Buffer.byteLength(reqs[i]!), `bytesIn of request ${i + 1}`);
      assert.equal(line["bytesOut"], responses[i]!.raw.length, `bytesOut of request ${i + 1}`);
      assert.equal(line["aborted"], undefined);
    }
    assert.deepEqual(
      logged.map((l) => [l["method"], l["route"]]),
      [
        ["GET", "manifest"],
        ["GET", "manifest"],
        ["HEAD", "blob"],
        ["GET", "blob"],
      ],
    );

    const after = parseMetrics((await request("GET", `${fx.proxy.url}/metrics`)).text);
    assert.equal(count(after, "manifest", "GET", "2xx") - count(metricsBefore, "manifest", "GET", "2xx"), 1);
    assert.equal(count(after, "manifest", "GET", "4xx") - count(metricsBefore, "manifest", "GET", "4xx"), 1);
    assert.equal(count(after, "blob", "HEAD", "2xx") - count(metricsBefore, "blob", "HEAD", "2xx"), 1);
    assert.equal(count(after, "blob", "GET", "2xx") - count(metricsBefore, "blob", "GET", "2xx"), 1);
    // The first scrape is counted (ops) and its connection's bytes too: compare with slack.
    const sentIn = reqs.reduce((n, r) => n + Buffer.byteLength(r), 0);
    const sentOut = responses.reduce((n, r) => n + r.raw.length, 0);
    const dIn = bytes(after, "in") - bytes(metricsBefore, "in");
    const dOut = bytes(after, "out") - bytes(metricsBefore, "out");
    assert.ok(dIn >= sentIn && dIn < sentIn + 2000, `in: ${dIn}, sent ${sentIn}`);
    assert.ok(dOut >= sentOut && dOut < sentOut + 100_000, `out: ${dOut}, received ${sentOut}`);
    assert.equal(sampleValue(after, "rcp_requests_in_flight"), 1, "only the scrape is in flight");
  });

  it("the server has one request listener and no connect or upgrade listener", () => {
    const server = fx.proxy.proxy.server;
    assert.equal(server.listenerCount("request"), 1);
    assert.equal(server.listenerCount("connect"), 0);
    assert.equal(server.listenerCount("upgrade"), 0);
  });
});

describe("request ids through the passthrough (fake upstream recording headers, real registry behind)", () => {
  let registry: TestRegistry;
  let fake: FakeUpstream;
  let proxy: TestProxy;
  const seen: Array<{ path: string; id: string | undefined; xff: string | undefined; hop: string[] }> = [];
  let c: RawConn;

  before(async () => {
    registry = await startRegistry();
    fake = await startFakeUpstream(registry.url);
    fake.addRule({
      when: (req) => {
        const id = req.headers["x-request-id"];
        const xff = req.headers["x-forwarded-for"];
        seen.push({
          path: req.url ?? "",
          id: typeof id === "string" ? id : undefined,
          xff: typeof xff === "string" ? xff : undefined,
          hop: ["x-secret", "keep-alive", "te", "upgrade", "proxy-authorization", "proxy-connection"].filter(
            (h) => req.headers[h] !== undefined,
          ),
        });
        return false; // never a fault: everything is forwarded
      },
      action: { status: 500 },
    });
    proxy = await startProxy(fake.url);
    c = await RawConn.open(proxy.port);
  });
  after(async () => {
    c.destroy();
    await proxy.stop();
    await fake.stop();
    await registry.stop();
  });

  it("GET /v2/ with a sane X-Request-Id → returned on the response and forwarded upstream once", async () => {
    c.write(get("/v2/?id=sane", ["X-Request-Id: my-id_1.2"]));
    const r = await c.read();
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-request-id"], "my-id_1.2");
    const up = seen.filter((s) => s.path === "/v2/?id=sane");
    assert.deepEqual(
      up.map((s) => s.id),
      ["my-id_1.2"],
    );
    assert.equal(up[0]!.xff, "127.0.0.1");
  });

  it("GET /v2/ without an id, or with an insane one → a fresh UUID, returned and forwarded", async () => {
    for (const [query, extra] of [
      ["none", []],
      ["insane", ["X-Request-Id: has spaces and !"]],
    ] as const) {
      c.write(get(`/v2/?id=${query}`, [...extra]));
      const r = await c.read();
      assert.equal(r.status, 200);
      const id = r.headers["x-request-id"] ?? "";
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, query);
      assert.deepEqual(
        seen.filter((s) => s.path === `/v2/?id=${query}`).map((s) => s.id),
        [id],
      );
    }
  });

  it("a Connection header naming X-Request-Id or X-Forwarded-For cannot strip them: the id and the real peer are forwarded", async () => {
    c.write(
      get("/v2/?id=conn-named", [
        "X-Request-Id: kept-1",
        "Connection: keep-alive, X-Request-Id, X-Forwarded-For",
      ]),
    );
    assert.equal((await c.read()).status, 200);
    const up = seen.find((s) => s.path === "/v2/?id=conn-named");
    assert.equal(up?.id, "kept-1");
    assert.equal(up?.xff, "127.0.0.1");
  });

  it("hop-by-hop request headers, and every header the client's Connection names, never reach the upstream", async () => {
    c.write(
      get("/v2/?id=hop", [
        "Connection: keep-alive, X-Secret",
        "X-Secret: s",
        "Keep-Alive: timeout=5",
        "TE: trailers",
        "Proxy-Authorization: Basic eDp5",
        "Proxy-Connection: keep-alive",
      ]),
    );
    assert.equal((await c.read()).status, 200);
    assert.deepEqual(seen.find((s) => s.path === "/v2/?id=hop")?.hop, []);
  });

  it("GET with a client X-Forwarded-For (untrusted) → only the real peer is forwarded", async () => {
    c.write(get("/v2/?id=xff", ["X-Forwarded-For: 6.6.6.6", "X-Real-IP: 6.6.6.6"]));
    assert.equal((await c.read()).status, 200);
    assert.equal(seen.find((s) => s.path === "/v2/?id=xff")?.xff, "127.0.0.1");
  });
});

describe("client connections over TLS (the proxy terminating TLS, real docker-registry 2.8)", () => {
  let ca: TestCa;
  const fx = useRegistryAndProxy(() => {
    ca = makeCa();
    const server = ca.issueServer("proxy");
    return { proxy: { listen: { tlsCert: server.cert, tlsKey: server.key } } };
  });
  after(async () => {
    ca.cleanup();
  });

  function tlsConnect(): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({
        port: fx.proxy.port,
        host: "127.0.0.1",
        ca: readFileSync(ca.cert),
        servername: "localhost",
      });
      s.once("secureConnect", () => resolve(s));
      s.once("error", reject);
    });
  }

  it("one request listener, no connect or upgrade listener, as on plain http", () => {
    const server = fx.proxy.proxy.server;
    assert.equal(server.listenerCount("request"), 1);
    assert.equal(server.listenerCount("connect"), 0);
    assert.equal(server.listenerCount("upgrade"), 0);
  });

  it("two passthrough GETs and an owned one on one kept-alive TLS connection", async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(ca.cert) });
    try {
      const sockets = new Set<unknown>();
      for (const path of ["/v2/", "/v2/_catalog", "/healthz", "/v2/"]) {
        const r = await new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
          const req = https.get(
            { host: "127.0.0.1", port: fx.proxy.port, path, agent, servername: "localhost" },
            (res) => {
              res.resume();
              res.on("end", () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
            },
          );
          req.on("error", reject);
        });
        assert.equal(r.status, 200, path);
        sockets.add(r.socket);
      }
      assert.equal(sockets.size, 1, "every request on the same TLS connection");
    } finally {
      agent.destroy();
    }
  });

  it("CONNECT over TLS is closed without an answer", async () => {
    const s = await tlsConnect();
    let got = "";
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
    });
    s.on("error", () => {});
    const closed = once(s, "close");
    s.write("CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
    await closed;
    assert.equal(got, "");
  });
});
