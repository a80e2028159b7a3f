/**
 * The nginx tier (deploy/nginx) keeps the proxy's rules for every spelling of a
 * request and in either upload mode (issue 24): real nginx started with run.sh in
 * front of a real docker-registry 2.8 and the proxy. nginx sends every encoded
 * path to the proxy, which reads it as the registry does; with strict uploads off,
 * the requests that put a blob into storage (upload POST, closing PUT) still go
 * through the proxy's read-only window, only the upload chunks (PATCH) go straight.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { type NginxTier, startNginxTier } from "../helpers/nginx-tier.js";
import { MT } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { emptyIndex, errorCode, seed } from "../helpers/tags.js";

requireTools("nginx");

const H = "a".repeat(64);

async function digestOf(base: string, repo: string, tag: string): Promise<string | undefined> {
  const res = await request("HEAD", `${base}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: MT.ociIndex },
  });
  return res.status === 200 ? (res.headers["docker-content-digest"] as string) : undefined;
}

interface Stack {
  registry: TestRegistry;
  proxy: TestProxy;
  nginx: NginxTier;
}

async function startStack(strictUploads: boolean): Promise<Stack> {
  const registry = await startRegistry();
  const proxy = await startProxy(registry.url, {
    proxy: { trustForwardedHeaders: true },
    oci: { strictUploads },
    tags: { immutable: ["v*"] },
    metrics: { port: 0 },
    maintenance: { writeWaitMs: 5000 },
  });
  const nginx = await startNginxTier({ registryUrl: registry.url, proxyUrl: proxy.url, strictUploads });
  return { registry, proxy, nginx };
}

async function stopStack(s: Stack | undefined): Promise<void> {
  await s?.nginx.stop();
  await s?.proxy.stop();
  await s?.registry.stop();
}

for (const strict of [false, true]) {
  describe(`nginx tier (strict uploads ${strict ? "on" : "off"}): encoded writes meet the proxy's rules`, () => {
    let s: Stack;
    let v1: string;
    before(async () => {
      s = await startStack(strict);
      v1 = await seed(s.registry.url, "tier/imm", ["v1.0", "sibling"]);
    });
    after(() => stopStack(s));

    it("PUT of an immutable tag spelt /%762/, /v%32/ or %6danifests answers 403 through nginx, like the plain path", async () => {
      for (const path of [
        "/v2/tier/imm/manifests/v1.0",
        "/%762/tier/imm/manifests/v1.0",
        "/v%32/tier/imm/manifests/v1.0",
        "/v2/tier/imm/%6danifests/v1.0",
        "/v2/tier/imm/manifest%73/v1.0",
      ]) {
        const res = await request("PUT", `${s.nginx.url}${path}`, {
          headers: { "content-type": MT.ociIndex },
          body: emptyIndex(`moved ${path}`),
        });
        assert.equal(res.status, 403, `${path}: ${res.text}`);
        assert.equal(errorCode(res), "DENIED");
      }
      assert.equal(await digestOf(s.registry.url, "tier/imm", "v1.0"), v1);
    });

    it("DELETE by digest of an immutable tag spelt /v%32/ or sha256%3A answers 403 through nginx; both tags stay", async () => {
      for (const path of [
        `/v%32/tier/imm/manifests/${v1}`,
        `/v2/tier/imm/manifests/${v1.replace(":", "%3A")}`,
      ]) {
        const res = await request("DELETE", `${s.nginx.url}${path}`);
        assert.equal(res.status, 403, `${path}: ${res.text}`);
      }
      assert.equal(await digestOf(s.registry.url, "tier/imm", "sibling"), v1);
    });

    it("a # in the target answers 400 through nginx and changes nothing", async () => {
      const res = await request("PUT", `${s.nginx.url}/v2/tier/imm/manifests/v1.0#x/y`, {
        headers: { "content-type": MT.ociIndex },
        body: emptyIndex("fragment"),
      });
      assert.equal(res.status, 400, res.text);
      assert.equal(await digestOf(s.registry.url, "tier/imm", "v1.0"), v1);
    });

    it("upload POST with a malformed digest, mount or from answers 400 through nginx; the registry never sees it", async () => {
      const cases = ["digest=sha256:zz", `mount=sha256:zz&from=tier/imm`, `mount=sha256:${H}&from=../x`];
      for (const [i, query] of cases.entries()) {
        const res = await request("POST", `${s.nginx.url}/v2/tier/qmark${i}/blobs/uploads/?${query}`);
        assert.equal(res.status, 400, `${query}: ${res.text}`);
      }
      assert.equal((await request("POST", `${s.nginx.url}/v2/tier/qcontrol/blobs/uploads/`)).status, 202);
      const deadline = Date.now() + 10_000;
      while (!s.registry.log().includes("tier/qcontrol") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(s.registry.log().includes("tier/qcontrol"), "the registry logs the requests it gets");
      for (let i = 0; i < cases.length; i++)
        assert.ok(!s.registry.log().includes(`tier/qmark${i}/`), cases[i]);
    });
  });
}

describe("nginx tier with strict uploads off: blob writes stay out of the read-only window", () => {
  let s: Stack;
  before(async () => {
    s = await startStack(false);
  });
  after(() => stopStack(s));

  it("during the window: upload POSTs (plain, spelt, monolithic, mount) and the closing PUT answer 503; a PATCH only stages; after it, the PUT closes the upload", async () => {
    const bytes = Buffer.from("a blob pushed across the window");
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const start = await request("POST", `${s.nginx.url}/v2/tier/win/blobs/uploads/`);
    assert.equal(start.status, 202, start.text);
    const location = String(start.headers.location).replace(/^https?:\/\/[^/]+/, "");
    const admin = s.proxy.proxy.metricsUrl()!;
    const entered = await request("POST", `${admin}/admin/read-only`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ holder: "test", leaseMs: 60_000 }),
    });
    assert.equal(entered.status, 200, entered.text);
    const lease = entered.json<{ lease: { id: string } }>().lease.id;
    let next = "";
    try {
      const patch = await request("PATCH", `${s.nginx.url}${location}`, {
        headers: { "content-type": "application/octet-stream", "content-range": `0-${bytes.length - 1}` },
        body: bytes,
      });
      assert.equal(patch.status, 202, `a PATCH stages bytes in the upload: ${patch.text}`);
      next = String(patch.headers.location).replace(/^https?:\/\/[^/]+/, "");
      const close = await request("PUT", `${s.nginx.url}${next}&digest=${digest}`);
      assert.equal(close.status, 503, `closing PUT: ${close.text}`);
      assert.equal((await request("HEAD", `${s.registry.url}/v2/tier/win/blobs/${digest}`)).status, 404);
      for (const [path, body] of [
        ["/v2/tier/win/blobs/uploads/", undefined],
        ["/v2/tier/win/blobs/%75ploads/", undefined],
        [`/v2/tier/win/blobs/uploads/?digest=${digest}`, bytes],
        [`/v2/tier/win/blobs/uploads/?mount=${digest}&from=tier/other`, undefined],
      ] as const) {
        const res = await request("POST", `${s.nginx.url}${path}`, body ? { body } : {});
        assert.equal(res.status, 503, `POST ${path}: ${res.text}`);
        assert.equal(errorCode(res), "UNAVAILABLE");
      }
      assert.equal((await request("HEAD", `${s.registry.url}/v2/tier/win/blobs/${digest}`)).status, 404);
    } finally {
      assert.equal((await request("DELETE", `${admin}/admin/read-only/${lease}`)).status, 204);
    }
    const done = await request("PUT", `${s.nginx.url}${next}&digest=${digest}`);
    assert.equal(done.status, 201, done.text);
    assert.deepEqual((await request("GET", `${s.nginx.url}/v2/tier/win/blobs/${digest}`)).body, bytes);
  });
});
