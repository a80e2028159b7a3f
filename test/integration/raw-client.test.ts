/**
 * The raw upstream client (src/upstream/raw-client.ts) against the real registry:
 * the calls the proxy makes itself (manifest PUT, GET, HEAD, DELETE, a tags list
 * the registry sends chunked) answer exactly what Node's client (client.ts)
 * answers for the same calls: status, header record and body bytes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import {
  createUpstreamClient,
  type UpstreamClient,
  type UpstreamResponse,
} from "../../src/upstream/client.js";
import { createRawUpstreamClient, type RawUpstreamClient } from "../../src/upstream/raw-client.js";
import { createUpstreamTarget, type UpstreamTarget } from "../../src/upstream/target.js";
import { MT, sha256 } from "../helpers/oci.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { emptyIndex } from "../helpers/tags.js";

const REPO = "raw/client";
const ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerManifest, MT.dockerList].join(", ");

/** The two clients agree: same status, same headers (but the clock's), same bytes. */
function assertSameAnswer(raw: UpstreamResponse, node: UpstreamResponse, what: string): void {
  assert.equal(raw.status, node.status, what);
  const { date: _rawDate, ...rawHeaders } = raw.headers;
  const { date: _nodeDate, ...nodeHeaders } = node.headers;
  assert.deepEqual(rawHeaders, nodeHeaders, what);
  assert.ok(raw.body.equals(node.body), what);
}

describe("raw upstream client against the real registry", () => {
  let registry: TestRegistry;
  let target: UpstreamTarget;
  let raw: RawUpstreamClient;
  let node: UpstreamClient;

  before(async () => {
    registry = await startRegistry({ deleteEnabled: true });
    target = createUpstreamTarget(
      loadConfig({ env: {}, overrides: { upstream: { url: registry.url } } }),
      registry.url,
    );
    raw = createRawUpstreamClient(target);
    node = createUpstreamClient(target);
  });
  after(async () => {
    raw.close();
    target.agent.destroy();
    await registry.stop();
  });

  const both = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const r = await raw.request({ method, path, headers });
    const n = await node.request({ method, path, headers });
    return [r, n] as const;
  };

  it("PUT /v2/<name>/manifests/<tag> with a body → 201 with Location and Docker-Content-Digest", async () => {
    const body = emptyIndex("put");
    const res = await raw.request({
      method: "PUT",
      path: `/v2/${REPO}/manifests/put`,
      headers: { "content-type": MT.ociIndex },
      body,
    });
    assert.equal(res.status, 201, res.body.toString());
    assert.equal(res.headers["docker-content-digest"], sha256(body));
    assert.equal(res.headers["location"], `${registry.url}/v2/${REPO}/manifests/${sha256(body)}`);
    assert.equal(res.body.length, 0);
  });

  it("GET /v2/<name>/tags/list of 150 tags, which the registry sends chunked → every tag, as Node's client reads it", async () => {
    const tags = Array.from(
      { length: 150 },
      (_, i) => `release-candidate-build-${String(i).padStart(4, "0")}`,
    );
    const body = emptyIndex("list");
    for (let i = 0; i < tags.length; i += 16) {
      const puts = tags.slice(i, i + 16).map((tag) =>
        raw.request({
          method: "PUT",
          path: `/v2/${REPO}/manifests/${tag}`,
          headers: { "content-type": MT.ociIndex },
          body,
        }),
      );
      for (const res of await Promise.all(puts)) assert.equal(res.status, 201);
    }
    const [r, n] = await both("GET", `/v2/${REPO}/tags/list`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["transfer-encoding"], "chunked", "the registry should frame a large list chunked");
    const listed = (JSON.parse(r.body.toString()) as { tags: string[] }).tags;
    for (const tag of tags) assert.ok(listed.includes(tag), tag);
    assertSameAnswer(r, n, "tags/list");
    // 2.8 ignores `n` on tags/list: the same whole list.
    const [pr, pn] = await both("GET", `/v2/${REPO}/tags/list?n=2`);
    assertSameAnswer(pr, pn, "tags/list?n=2");
  });

  it("HEAD /v2/<name>/manifests/<tag> → 200 with Content-Length and digest, no body; GET → the exact bytes", async () => {
    const body = emptyIndex("head");
    await raw.request({
      method: "PUT",
      path: `/v2/${REPO}/manifests/head`,
      headers: { "content-type": MT.ociIndex },
      body,
    });
    const [hr, hn] = await both("HEAD", `/v2/${REPO}/manifests/head`, { accept: ACCEPT });
    assert.equal(hr.status, 200);
    assert.equal(hr.headers["content-length"], String(body.length));
    assert.equal(hr.headers["docker-content-digest"], sha256(body));
    assert.equal(hr.body.length, 0);
    assertSameAnswer(hr, hn, "HEAD manifest");
    const [gr, gn] = await both("GET", `/v2/${REPO}/manifests/head`, { accept: ACCEPT });
    assert.ok(gr.body.equals(body));
    assert.equal(gr.headers["transfer-encoding"], undefined, "a manifest comes framed by Content-Length");
    assertSameAnswer(gr, gn, "GET manifest");
  });

  it("GET of an unknown manifest and HEAD of an unknown repository → the registry's 404s, as Node's client reads them", async () => {
    const [r, n] = await both("GET", `/v2/${REPO}/manifests/missing`, { accept: ACCEPT });
    assert.equal(r.status, 404);
    assert.match(r.body.toString(), /MANIFEST_UNKNOWN/);
    assertSameAnswer(r, n, "GET unknown manifest");
    const [hr, hn] = await both("HEAD", "/v2/no/such/repo/manifests/latest", { accept: ACCEPT });
    assert.equal(hr.status, 404);
    assertSameAnswer(hr, hn, "HEAD unknown repository");
  });

  it("DELETE /v2/<name>/manifests/<digest> → 202, then GET → 404; DELETE of a tag → the registry's refusal", async () => {
    const body = emptyIndex("delete");
    const digest = sha256(body);
    await raw.request({
      method: "PUT",
      path: `/v2/${REPO}/manifests/delete`,
      headers: { "content-type": MT.ociIndex },
      body,
    });
    const del = await raw.request({ method: "DELETE", path: `/v2/${REPO}/manifests/${digest}` });
    assert.equal(del.status, 202, del.body.toString());
    const gone = await raw.request({
      method: "GET",
      path: `/v2/${REPO}/manifests/delete`,
      headers: { accept: ACCEPT },
    });
    assert.equal(gone.status, 404);
    const [r, n] = await both("DELETE", `/v2/${REPO}/manifests/put`);
    assert.ok(r.status >= 400, `a tag DELETE on 2.8 is refused, got ${r.status}`);
    assertSameAnswer(r, n, "DELETE by tag");
  });

  it("GET /v2/ with many calls in flight at once → every one answered", async () => {
    const all = await Promise.all(
      Array.from({ length: 40 }, () => raw.request({ method: "GET", path: "/v2/" })),
    );
    for (const res of all) assert.equal(res.status, 200);
    const [r, n] = await both("GET", "/v2/");
    assertSameAnswer(r, n, "GET /v2/");
  });
});
