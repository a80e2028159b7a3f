/**
 * Tags lists answered in the fast lane (handlers/lane-answers.ts) in front of a
 * real docker-registry 2.8: the same answers as Node's path (the proxy with the
 * lane off) for pages, Link, HEAD, the legacy list, bad `n`, unknown repositories
 * and upstream auth challenges; keep-alive across lists, pulls and the handoff; the
 * access log and metrics; a client that leaves before its list arrives.
 *
 * Lane answers are told from Node's by their head: on Node's path the request
 * tracker sets X-Request-Id first, the lane writes it after the answer's headers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "../helpers/http.js";
import { MT, makeImage, pushImage } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { RawConns, type RawResponse } from "../helpers/raw-conn.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const REPO = "lists/app";
const TAGS = ["v3", "v1", "latest", "v2", "rc_1", "build-7"];

function req(method: string, path: string, headers: string[] = []): string {
  return `${method} ${path} HTTP/1.1\r\nHost: lists.test\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`;
}

function byNode(r: RawResponse): boolean {
  return /^x-request-id:/i.test(r.lines[0] ?? "");
}

/** Headers that differ between two servers answering the same request, by design. */
const VARYING = new Set(["date", "keep-alive", "x-request-id", "connection"]);

function comparable(r: RawResponse): { status: number; headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (!VARYING.has(k)) headers[k] = v;
  return { status: r.status, headers, body: r.body.toString("utf8") };
}

describe("tags lists answered in the fast lane", () => {
  let registry: TestRegistry;
  let lane: TestProxy;
  let node: TestProxy;
  const conns = new RawConns();
  const conn = (p: TestProxy) => conns.open(p.port);

  before(async () => {
    registry = await startRegistry();
    lane = await startProxy(registry.url);
    node = await startProxy(registry.url, { proxy: { fastLane: false } });
    await pushImage(registry.url, REPO, makeImage({ layerCount: 1, layerSize: 1000 }), TAGS);
  });
  after(async () => {
    conns.destroyAll();
    await lane.stop();
    await node.stop();
    await registry.stop();
  });

  it("gives the answers Node's path gives: pages, Link, legacy list, HEAD, bad n, unknown repository", async () => {
    const asks: [string, string][] = [
      ["GET", `/v2/${REPO}/tags/_list`],
      ["GET", `/v2/${REPO}/tags/_list?n=2`],
      ["GET", `/v2/${REPO}/tags/_list?n=2&last=latest`],
      ["GET", `/v2/${REPO}/tags/_list?n=0`],
      ["GET", `/v2/${REPO}/tags/list`],
      ["GET", `/v2/${REPO}/tags/list?n=4`],
      ["HEAD", `/v2/${REPO}/tags/_list?n=2`],
      ["GET", `/v2/${REPO}/tags/_list?n=-1`],
      ["GET", `/v2/${REPO}/tags/_list?n=abc`],
      ["HEAD", `/v2/${REPO}/tags/_list?n=abc`],
      ["GET", "/v2/lists/missing/tags/_list"],
    ];
    const l = await conn(lane);
    const n = await conn(node);
    for (const [method, path] of asks) {
      l.write(req(method, path));
      n.write(req(method, path));
      const a = await l.read(method);
      const b = await n.read(method);
      assert.equal(
        byNode(a),
        false,
        `${method} ${path} was not answered in the lane:\n${a.lines.join("\n")}`,
      );
      const [ca, cb] = [comparable(a), comparable(b)];
      if (method === "HEAD") {
        // The lane announces the length a GET would get; Node's path leaves it out for errors.
        l.write(req("GET", path));
        const get = await l.read();
        assert.equal(ca.headers["content-length"], String(get.body.length), `${method} ${path}`);
        delete ca.headers["content-length"];
        delete cb.headers["content-length"];
      }
      assert.deepEqual(ca, cb, `${method} ${path}`);
      assert.equal(a.headers.connection, "keep-alive", `${method} ${path}`);
      assert.ok(a.headers["x-request-id"], `${method} ${path}: request id`);
    }
    // The first page really is the smallest tags in order, with a Link to the next.
    l.write(req("GET", `/v2/${REPO}/tags/_list?n=2`));
    const page = await l.read();
    assert.deepEqual(JSON.parse(page.body.toString()), { name: REPO, tags: ["build-7", "latest"] });
    assert.equal(page.headers.link, `</v2/${REPO}/tags/_list?n=2&last=latest>; rel="next"`);
  });

  it("keeps one connection across lane lists, pulls, and a request handed to Node", async () => {
    const c = await conn(lane);
    c.write(req("GET", `/v2/${REPO}/tags/_list?n=1`, ["X-Request-Id: list-one"]));
    const first = await c.read();
    assert.equal(first.status, 200);
    assert.equal(first.headers["x-request-id"], "list-one");
    c.write(req("GET", `/v2/${REPO}/manifests/v1`, [`Accept: ${MT.ociManifest}`]));
    const manifest = await c.read();
    assert.equal(manifest.status, 200);
    assert.equal(byNode(manifest), false);
    // Pipelined: a list and a HEAD list in one write.
    c.write(req("GET", `/v2/${REPO}/tags/list`) + req("HEAD", `/v2/${REPO}/tags/_list`));
    const all = await c.read();
    assert.deepEqual(JSON.parse(all.body.toString()).tags, [...TAGS].sort());
    const head = await c.read("HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers["content-length"], all.headers["content-length"]);
    // A method the lane leaves to Node (405 with Allow on _list): the connection moves over.
    c.write(req("POST", `/v2/${REPO}/tags/_list`, ["Content-Length: 0"]));
    const refused = await c.read();
    assert.equal(refused.status, 405);
    assert.equal(refused.headers.allow, "GET, HEAD");
    assert.equal(byNode(refused), true);
    c.write(req("GET", `/v2/${REPO}/tags/_list?n=1`));
    const again = await c.read();
    assert.equal(again.status, 200);
    assert.equal(byNode(again), true, "after the handoff the connection stays with Node");
  });

  it("logs and counts lane lists like Node's", async () => {
    const c = await conn(lane);
    c.write(req("GET", `/v2/${REPO}/tags/_list?n=3`, ["X-Request-Id: list-logged"]));
    const r = await c.read();
    assert.equal(r.status, 200);
    await sleep(50);
    const line = lane
      .logs()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l["requestId"] === "list-logged" && l["msg"] === "request");
    assert.ok(line, "an access line for the lane list");
    assert.equal(line["status"], 200);
    assert.equal(line["route"], "tags-list");
    assert.equal(line["bytesOut"], r.raw.length);
    const metrics = parseMetrics((await request("GET", `${lane.url}/metrics`)).text);
    const counted = sampleValue(metrics, "rcp_requests_total", {
      route: "tags-list",
      method: "GET",
      status: "2xx",
    });
    assert.ok(counted !== undefined && counted >= 1, `rcp_requests_total for tags-list: ${counted}`);
  });

  it("drops the answer of a client that left, and the next connection is served", async () => {
    const c = await conn(lane);
    c.write(req("GET", `/v2/${REPO}/tags/_list?n=2`, ["Authorization: Basic bGVmdDpsZWZ0"]));
    c.destroy();
    await sleep(100);
    const d = await conn(lane);
    d.write(req("GET", `/v2/${REPO}/tags/_list?n=2`));
    const r = await d.read();
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()).tags, ["build-7", "latest"]);
  });
});
