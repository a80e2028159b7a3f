/**
 * Every rule holds for every spelling of a request (issue 24), through the proxy
 * in front of a real docker-registry 2.8: the proxy reads the path as the registry
 * does (decoded once), forwards the canonical spelling, refuses what it will not
 * map, and reads the query parameters the registry acts on strictly.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { MT } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { emptyIndex, errorCode, seed } from "../helpers/tags.js";

const REPO = "spell/ex";
const H = "a".repeat(64);

function put(base: string, path: string, nonce: string) {
  return request("PUT", `${base}${path}`, {
    headers: { "content-type": MT.ociIndex },
    body: emptyIndex(nonce),
  });
}

async function digestOf(base: string, repo: string, tag: string): Promise<string | undefined> {
  const res = await request("HEAD", `${base}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: MT.ociIndex },
  });
  return res.status === 200 ? (res.headers["docker-content-digest"] as string) : undefined;
}

/** Whether the registry's log shows `text` (it arrives through a pipe: waits for it). */
async function logged(registry: TestRegistry, text: string): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (!registry.log().includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return registry.log().includes(text);
}

describe("spellings through the proxy (real registry)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let v1: string;

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { tags: { immutable: ["v*"] }, metrics: { port: 0 } });
    v1 = await seed(registry.url, REPO, ["v1.0", "sibling"]);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it("PUT of an immutable tag through /%762/, /v%32/, %6danifests, manifest%73 answers 403 DENIED like the plain path; v1.0 keeps its digest", async () => {
    for (const path of [
      `/v2/${REPO}/manifests/v1.0`,
      `/%762/${REPO}/manifests/v1.0`,
      `/v%32/${REPO}/manifests/v1.0`,
      `/v2/${REPO}/%6danifests/v1.0`,
      `/v2/${REPO}/%6Danifests/v1.0`,
      `/v2/${REPO}/manifest%73/v1.0`,
      `/v2/spell%2Fex/manifests/v1.0`,
      `/v2/${REPO}/manifests/v1%2e0`,
    ]) {
      const res = await put(proxy.url, path, `moved-${path}`);
      const refused = path.includes("%2F") || path.includes("%2e");
      assert.equal(res.status, refused ? 400 : 403, `${path}: ${res.text}`);
      assert.equal(errorCode(res), refused ? "NAME_INVALID" : "DENIED", path);
    }
    assert.equal(await digestOf(registry.url, REPO, "v1.0"), v1);
  });

  it("DELETE by digest of an immutable tag's manifest, spelt /v%32/ or sha256%3A, answers 403; v1.0 and its sibling stay", async () => {
    for (const path of [
      `/v%32/${REPO}/manifests/${v1}`,
      `/v2/${REPO}/manifests/${v1.replace(":", "%3A")}`,
      `/v2/${REPO}/%6danifests/${v1.replace(":", "%3a")}`,
    ]) {
      const res = await request("DELETE", `${proxy.url}${path}`);
      assert.equal(res.status, 403, `${path}: ${res.text}`);
    }
    assert.equal(await digestOf(registry.url, REPO, "v1.0"), v1);
    assert.equal(await digestOf(registry.url, REPO, "sibling"), v1);
  });

  it("DELETE /v2/<name>/%6danifests/<tag> is the proxy's tag delete: that tag goes, its sibling keeps the digest", async () => {
    const digest = await seed(registry.url, "spell/del", ["gone", "stays"]);
    const res = await request("DELETE", `${proxy.url}/v2/spell/del/%6danifests/gon%65`);
    assert.equal(res.status, 202, res.text);
    assert.equal(await digestOf(registry.url, "spell/del", "gone"), undefined);
    assert.equal(await digestOf(registry.url, "spell/del", "stays"), digest);
  });

  it("a # in the target answers 400: PUT .../manifests/v1.0#x/y is never forwarded as a PUT to v1.0", async () => {
    for (const path of [`/v2/${REPO}/manifests/v1.0#x/y`, `/v2/${REPO}/manifests/mut#/x`]) {
      const res = await put(proxy.url, path, "fragment");
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal(errorCode(res), "NAME_INVALID");
    }
    assert.equal(await digestOf(registry.url, REPO, "v1.0"), v1);
    assert.equal(await digestOf(registry.url, REPO, "mut"), undefined);
  });

  it("a broken escape, double encoding or an encoded control character answers 400 NAME_INVALID", async () => {
    for (const path of [
      `/v2/${REPO}/manifests/x%`,
      `/%2576%32/${REPO}/manifests/x`,
      `/v2/${REPO}/manifests/x%0A`,
    ]) {
      const res = await put(proxy.url, path, "bad");
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal(errorCode(res), "NAME_INVALID", path);
    }
  });

  it("an encoded write reaches the registry in its canonical spelling and is counted under its route", async () => {
    const res = await put(proxy.url, `/%762/${REPO}/%6danifests/canonical-mark`, "canonical");
    assert.equal(res.status, 201, res.text);
    assert.ok(
      await logged(registry, `/v2/${REPO}/manifests/canonical-mark`),
      "the registry got /v2/.../manifests/...",
    );
    assert.ok(!registry.log().includes("%6danifests"), "the client's spelling was not forwarded");
    const metrics = parseMetrics((await request("GET", `${proxy.proxy.metricsUrl()!}/metrics`)).text);
    assert.ok(
      (sampleValue(metrics, "rcp_requests_total", { route: "manifest", method: "PUT", status: "2xx" }) ??
        0) >= 1,
    );
  });
});

describe("query parameters read strictly (real registry)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url);
    await seed(registry.url, "spell/q", ["a", "b", "c"]);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it("tags list: an empty or repeated n or last, a broken escape or a ; answers 400 PAGINATION_NUMBER_INVALID", async () => {
    for (const query of ["n=", "n=1&n=2", "last=", "last=a&last=b", "last=%", "n=1&last=%zz", "n=1;last=a"]) {
      for (const variant of ["_list", "list"]) {
        const res = await request("GET", `${proxy.url}/v2/spell/q/tags/${variant}?${query}`);
        assert.equal(res.status, 400, `${variant}?${query}: ${res.text}`);
        assert.equal(errorCode(res), "PAGINATION_NUMBER_INVALID", `${variant}?${query}`);
      }
    }
    const ok = await request("GET", `${proxy.url}/v2/spell/q/tags/_list?n=1&last=a`);
    assert.deepEqual(ok.json(), { name: "spell/q", tags: ["b"] });
  });

  it("upload POST with a malformed digest, mount or from answers 400 and never reaches the registry", async () => {
    const cases: Array<[string, string]> = [
      ["digest=sha256:zz", "DIGEST_INVALID"],
      [`digest=sha256:${H}&digest=sha256:${H}`, "DIGEST_INVALID"],
      ["mount=sha256:zz&from=spell/q", "DIGEST_INVALID"],
      [`mount=sha256:${H}&from=../x`, "NAME_INVALID"],
      [`mount=sha256:${H}&from=`, "NAME_INVALID"],
      ["digest=%", "DIGEST_INVALID"],
    ];
    for (const [i, [query, code]] of cases.entries()) {
      const repo = `spell/qmark${i}`;
      const res = await request("POST", `${proxy.url}/v2/${repo}/blobs/uploads/?${query}`);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.equal(errorCode(res), code, query);
    }
    // Control: a valid POST reaches the registry and shows in its log.
    const started = await request("POST", `${proxy.url}/v2/spell/qcontrol/blobs/uploads/`);
    assert.equal(started.status, 202);
    assert.ok(await logged(registry, "spell/qcontrol"));
    for (let i = 0; i < cases.length; i++)
      assert.ok(!registry.log().includes(`spell/qmark${i}/`), `case ${i} forwarded`);
  });

  it("a closing PUT with a repeated digest answers 400 and leaves the upload open; the same PUT with one digest closes it (_state kept byte for byte)", async () => {
    const bytes = Buffer.from("strict closing put");
    const { createHash } = await import("node:crypto");
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const start = await request("POST", `${proxy.url}/v2/spell/q/blobs/uploads/`);
    assert.equal(start.status, 202, start.text);
    const location = String(start.headers.location).replace(/^https?:\/\/[^/]+/, "");
    assert.match(location, /[?&]_state=/);
    const sep = location.includes("?") ? "&" : "?";
    const headers = { "content-type": "application/octet-stream" };
    const twice = await request("PUT", `${proxy.url}${location}${sep}digest=${digest}&digest=${digest}`, {
      headers,
      body: bytes,
    });
    assert.equal(twice.status, 400, twice.text);
    assert.equal(errorCode(twice), "DIGEST_INVALID");
    const once = await request("PUT", `${proxy.url}${location}${sep}digest=${digest}`, {
      headers,
      body: bytes,
    });
    assert.equal(once.status, 201, once.text);
    const blob = await request("GET", `${registry.url}/v2/spell/q/blobs/${digest}`);
    assert.deepEqual(blob.body, bytes);
  });
});
