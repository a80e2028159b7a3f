import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Failure } from "../../src/registry-client/failure.js";
import {
  capabilityKey,
  classifyDigestProbe,
  classifyTagProbe,
  createCapabilityCache,
  type DeleteSupport,
  probeTag,
} from "../../src/tags/capabilities.js";

describe("delete capability probes", () => {
  it("classify the never-existing-tag DELETE: 404/202 native, 400 legacy, 405 disabled", () => {
    const table: Array<[number, string]> = [
      [404, "native"],
      [202, "native"],
      [400, "legacy"],
      [405, "disabled"],
      [401, "fail"],
      [403, "fail"],
      [500, "fail"],
    ];
    for (const [status, want] of table) assert.equal(classifyTagProbe(status), want, String(status));
  });

  it("classify the zero-digest DELETE: 404 enabled, 405 disabled", () => {
    assert.equal(classifyDigestProbe(404), "enabled");
    assert.equal(classifyDigestProbe(405), "disabled");
    assert.equal(classifyDigestProbe(401), "fail");
    assert.equal(classifyDigestProbe(503), "fail");
  });

  it("probe tags are valid, random tag names", () => {
    const a = probeTag();
    assert.match(a, /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/);
    assert.notEqual(a, probeTag());
  });

  it("keys by upstream, repository and a hash of the Authorization, never the credential itself", () => {
    const k = capabilityKey("http://u", "r", "Basic c2VjcmV0");
    assert.ok(!k.includes("c2VjcmV0"));
    assert.notEqual(k, capabilityKey("http://u", "r", "Basic b3RoZXI="));
    assert.notEqual(k, capabilityKey("http://v", "r", "Basic c2VjcmV0"));
    assert.notEqual(k, capabilityKey("http://u", "other/repo", "Basic c2VjcmV0"));
    assert.notEqual(capabilityKey("http://u", "r", undefined), k);
  });
});

describe("capability cache", () => {
  const failure: Failure = {
    ok: false,
    kind: "status",
    status: 401,
    headers: {},
    body: Buffer.alloc(0),
    code: "UNAUTHORIZED",
  };

  it("probes once per key and shares a probe in flight", async () => {
    const cache = createCapabilityCache({ ttlMs: 60_000 });
    let probes = 0;
    const probe = async (): Promise<DeleteSupport> => {
      probes++;
      await new Promise((r) => setTimeout(r, 5));
      return "swap";
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => cache.get("k", probe)));
    assert.deepEqual(new Set(results), new Set(["swap"]));
    assert.equal(await cache.get("k", probe), "swap");
    assert.equal(probes, 1);
    await cache.get("other", probe);
    assert.equal(probes, 2);
  });

  it("never caches a failed probe (a 401 must reach the next caller's credentials again)", async () => {
    const cache = createCapabilityCache({ ttlMs: 60_000 });
    let probes = 0;
    const probe = async (): Promise<DeleteSupport | Failure> => (++probes === 1 ? failure : "native");
    assert.equal(await cache.get("k", probe), failure);
    assert.equal(await cache.get("k", probe), "native");
    assert.equal(probes, 2);
  });

  it("expires after the TTL and forgets on invalidate", async () => {
    const cache = createCapabilityCache({ ttlMs: 20 });
    let probes = 0;
    const probe = async (): Promise<DeleteSupport> => {
      probes++;
      return "swap";
    };
    await cache.get("k", probe);
    await new Promise((r) => setTimeout(r, 40));
    await cache.get("k", probe);
    assert.equal(probes, 2);
    cache.invalidate("k");
    await cache.get("k", probe);
    assert.equal(probes, 3);
  });

  it("is bounded", async () => {
    const cache = createCapabilityCache({ ttlMs: 60_000, max: 3 });
    for (let i = 0; i < 10; i++) await cache.get(String(i), async () => "swap");
    assert.equal(cache.size, 3);
  });
});
