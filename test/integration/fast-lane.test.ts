/**
 * The fast lane (src/upstream/fast-lane.ts) on raw sockets, in front of a real
 * docker-registry 2.8: keep-alive reuse across the lane and the handoff to Node's
 * server, pipelining, split heads, Connection: close, request ids, HEAD framing,
 * chunked upstream responses, and the access log and metrics of lane requests.
 *
 * Lane responses are told from Node's by their head: on Node's path the request
 * tracker sets X-Request-Id before anything else (the first header line), the lane
 * appends it after the upstream's headers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type FakeUpstream, startFakeUpstream } from "../helpers/fake-upstream.js";
import { request } from "../helpers/http.js";
import { blobOf, type Image, MT, makeImage, pushBlob, pushImage } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { RawConn, RawConns, type RawResponse } from "../helpers/raw-conn.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const REPO = "lane/app";
const CATALOG_REPOS = 40;

function get(path: string, headers: string[] = []): string {
  return `GET ${path} HTTP/1.1\r\nHost: lane.test\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`;
}
function headReq(path: string, headers: string[] = []): string {
  return get(path, headers).replace(/^GET/, "HEAD");
}
const ACCEPT = `Accept: ${MT.ociManifest}`;

/** Served by Node's server (X-Request-Id is its first header line), not by the lane. */
function byNode(r: RawResponse): boolean {
  return /^x-request-id:/i.test(r.lines[0] ?? "");
}

describe("fast lane on raw sockets in front of a real docker-registry 2.8", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let image: Image;
  const conns = new RawConns();
  const conn = () => conns.open(proxy.port);

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url);
    image = makeImage({ layerCount: 1, layerSize: 300_000 });
    await pushImage(registry.url, REPO, image, ["v1"]);
    const one = blobOf(Buffer.from("catalog"));
    await Promise.all(
      Array.from({ length: CATALOG_REPOS }, (_, i) =>
        pushBlob(registry.url, `lane/chunked-catalog-repository-with-a-long-name-${i}`, one),
      ),
    );
  });
  after(async () => {
    conns.destroyAll();
    await proxy.stop();
    await registry.stop();
  });

  it("one keep-alive connection: GET manifest, HEAD blob, POST upload (lane), chunked PATCH (handed to Node), GET manifest (Node)", async () => {
    const c = await conn();
    c.write(get(`/v2/${REPO}/manifests/v1`, [ACCEPT]));
    const m1 = await c.read();
    assert.equal(m1.status, 200);
    assert.deepEqual(m1.body, image.manifest.bytes);
    assert.equal(m1.headers["docker-content-digest"], image.manifest.digest);
    assert.equal(m1.headers["docker-distribution-api-version"], "registry/2.0");
    assert.equal(m1.headers.connection, "keep-alive");
    assert.equal(byNode(m1), false, m1.lines.join("\n"));

    const layer = image.layers[0]!;
    c.write(headReq(`/v2/${REPO}/blobs/${layer.digest}`));
    const h = await c.read("HEAD");
    assert.equal(h.status, 200);
    assert.equal(Number(h.headers["content-length"]), layer.size);
    assert.equal(byNode(h), false);

    c.write(`POST /v2/${REPO}/blobs/uploads/ HTTP/1.1\r\nHost: lane.test\r\nContent-Length: 0\r\n\r\n`);
    const up = await c.read();
    assert.equal(up.status, 202, up.body.toString());
    const location = up.headers.location as string;
    assert.ok(location?.startsWith(`http://lane.test/v2/${REPO}/blobs/uploads/`), location);
    assert.equal(byNode(up), false, up.lines.join("\n"));

    // A chunked request body is Node's: the connection is handed over with it.
    const path = location.slice("http://lane.test".length);
    c.write(
      `PATCH ${path} HTTP/1.1\r\nHost: lane.test\r\nContent-Type: application/octet-stream\r\n` +
        "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    const patched = await c.read();
    assert.equal(patched.status, 202, patched.body.toString());
    assert.equal(patched.headers.range, "0-2");
    assert.equal(byNode(patched), true, patched.lines.join("\n"));

    c.write(get(`/v2/${REPO}/manifests/v1`, [ACCEPT]));
    const m2 = await c.read();
    assert.equal(m2.status, 200);
    assert.deepEqual(m2.body, image.manifest.bytes);
    assert.equal(byNode(m2), true, "the connection stays with Node's server after a handoff");
    assert.equal(c.ended || c.closed, false);
  });

  it("two pipelined GETs in one write → two responses, in order, each intact", async () => {
    const c = await conn();
    c.write(get(`/v2/${REPO}/manifests/v1`, [ACCEPT]) + get(`/v2/${REPO}/blobs/${image.config.digest}`));
    const a = await c.read();
    const b = await c.read();
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, image.manifest.bytes);
    assert.equal(b.status, 200);
    assert.deepEqual(b.body, image.config.bytes);
    assert.equal(byNode(a) || byNode(b), false);
    // And the connection is still usable.
    c.write(get("/v2/"));
    assert.equal((await c.read()).status, 200);
  });

  it("a GET head split across two writes 50 ms apart is answered (handoff path)", async () => {
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
    assert.equal(await c.waitEnd(5000), true, "the proxy closed the connection");
    assert.equal(c.unread.length, 0);
  });

  it("GET then a half-close (client FIN) → the response arrives and the proxy ends the socket", async () => {
    const c = await conn();
    c.socket.end(get(`/v2/${REPO}/manifests/v1`, [ACCEPT]));
    const r = await c.read();
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, image.manifest.bytes);
    assert.equal(await c.waitEnd(5000), true, "the proxy ended its side too instead of waiting");
  });

  it("three pipelined GETs then a half-close → all three answered, the last says close, the socket ends", async () => {
    const c = await conn();
    const m = get(`/v2/${REPO}/manifests/v1`, [ACCEPT]);
    c.socket.end(m + get(`/v2/${REPO}/blobs/${image.config.digest}`) + m);
    const a = await c.read();
    const b = await c.read();
    const d = await c.read();
    assert.deepEqual([a.status, b.status, d.status], [200, 200, 200]);
    assert.deepEqual(a.body, image.manifest.bytes);
    assert.deepEqual(b.body, image.config.bytes);
    assert.deepEqual(d.body, image.manifest.bytes);
    assert.equal(d.headers.connection, "close");
    assert.equal(await c.waitEnd(5000), true);
    assert.equal(c.error, null);
  });

  it("pipelined GET (lane) + POST (for Node) then a half-close → GET answered, then a clean end (Node aborts after a FIN)", async () => {
    const c = await conn();
    c.socket.end(
      get(`/v2/${REPO}/manifests/v1`, [ACCEPT]) +
        `POST /v2/${REPO}/blobs/uploads/ HTTP/1.1\r\nHost: lane.test\r\nContent-Length: 0\r\n\r\n`,
    );
    const m = await c.read();
    assert.equal(m.status, 200);
    assert.deepEqual(m.body, image.manifest.bytes);
    assert.equal(await c.waitEnd(5000), true);
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
    await sleep(100);
    assert.equal(c.unread.length, 0, "no body bytes after a HEAD response");
    c.write(get(`/v2/${REPO}/blobs/${layer.digest}`));
    const g = await c.read();
    assert.equal(g.status, 200);
    assert.deepEqual(g.body, layer.bytes);
  });

  it("GET /v2/_catalog (chunked from the registry) arrives intact and the connection stays usable", async () => {
    const direct = await conns.open(Number(new URL(registry.url).port));
    direct.write(get("/v2/_catalog?n=1000"));
    const d = await direct.read();
    assert.equal(d.headers["transfer-encoding"], "chunked", "the registry answers this one chunked");

    const c = await conn();
    c.write(get("/v2/_catalog?n=1000"));
    const r = await c.read();
    assert.equal(r.status, 200);
    assert.equal(r.headers["transfer-encoding"], "chunked");
    assert.equal(r.headers["content-length"], undefined);
    assert.equal(byNode(r), false);
    assert.deepEqual(r.body, d.body);
    const repos = JSON.parse(r.body.toString()) as { repositories: string[] };
    assert.equal(repos.repositories.length, CATALOG_REPOS + 1);
    c.write(get("/v2/"));
    const next = await c.read();
    assert.equal(next.status, 200);
    assert.equal(next.body.toString(), "{}");
  });

  it("GET requests through the lane: one access log line and one count each, with bytes in and out", async () => {
    const metricsBefore = parseMetrics((await request("GET", `${proxy.url}/metrics`)).text);
    const count = (s: ReturnType<typeof parseMetrics>, route: string, method: string, status: string) =>
      sampleValue(s, "rcp_requests_total", { route, method, status }) ?? 0;
    const bytes = (s: ReturnType<typeof parseMetrics>, direction: string) =>
      sampleValue(s, "rcp_proxied_bytes_total", { direction }) ?? 0;

    const c = await conn();
    const layer = image.layers[0]!;
    const reqs = [
      get(`/v2/${REPO}/manifests/v1`, [ACCEPT, "X-Request-Id: lane-log-1"]),
      get(`/v2/${REPO}/manifests/missing`, ["X-Request-Id: lane-log-2"]),
      headReq(`/v2/${REPO}/blobs/${layer.digest}`, ["X-Request-Id: lane-log-3"]),
      get(`/v2/${REPO}/blobs/${layer.digest}`, ["X-Request-Id: lane-log-4"]),
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
    assert.ok(responses.every((r) => !byNode(r)));

    // The access line is written when the response is done; give the loop a moment.
    await sleep(50);
    const lines = proxy
      .logs()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l["msg"] === "request" && String(l["requestId"]).startsWith("lane-log-"));
    assert.equal(lines.length, 4, JSON.stringify(lines));
    for (const [i, line] of lines.entries()) {
      assert.equal(line["requestId"], `lane-log-${i + 1}`);
      assert.equal(line["status"], responses[i]!.status);
      assert.equal(line["bytesIn"], Buffer.byteLength(reqs[i]!), `bytesIn of request ${i + 1}`);
      assert.equal(line["bytesOut"], responses[i]!.raw.length, `bytesOut of request ${i + 1}`);
      assert.equal(line["aborted"], undefined);
    }
    assert.deepEqual(
      lines.map((l) => [l["method"], l["route"]]),
      [
        ["GET", "manifest"],
        ["GET", "manifest"],
        ["HEAD", "blob"],
        ["GET", "blob"],
      ],
    );

    const after = parseMetrics((await request("GET", `${proxy.url}/metrics`)).text);
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
});

describe("fast lane request ids (fake upstream recording headers, real registry behind)", () => {
  let registry: TestRegistry;
  let fake: FakeUpstream;
  let proxy: TestProxy;
  const seen: Array<{ path: string; id: string | undefined; xff: string | undefined }> = [];
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
    assert.equal(byNode(r), false);
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

  it("GET with a client X-Forwarded-For (untrusted) → only the real peer is forwarded", async () => {
    c.write(get("/v2/?id=xff", ["X-Forwarded-For: 6.6.6.6", "X-Real-IP: 6.6.6.6"]));
    assert.equal((await c.read()).status, 200);
    assert.equal(seen.find((s) => s.path === "/v2/?id=xff")?.xff, "127.0.0.1");
  });
});
