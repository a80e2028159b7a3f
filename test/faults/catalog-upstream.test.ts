/**
 * `GET /v2/_catalog` through the proxy when the registry fails (issue 32): a
 * failing tags check lists the name as the registry does (never hides it), a
 * failing continuation page or catalog is an error, never a short page.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { emptyByDigest, pushRepositories } from "../helpers/catalog.js";
import { FAULTS, type FakeUpstream, startFakeUpstream } from "../helpers/fake-upstream.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";

describe("GET /v2/_catalog with registry faults (scripted front of a real registry)", () => {
  const fx = useRegistryAndProxy<FakeUpstream>({
    front: (registry) => startFakeUpstream(registry.url),
    proxy: { catalog: { cacheTtlMs: 0 } },
  });
  before(async () => {
    const digest = await pushRepositories(fx.registry.url, ["f/a", "f/b", "f/c", "f/d"]);
    await emptyByDigest(fx.registry.url, "f/b", digest);
    await emptyByDigest(fx.registry.url, "f/c", digest);
  });

  it("GET /v2/_catalog: a tags check answered 500 lists that name (as the registry lists it), the others are decided", async () => {
    fx.front.clearRules();
    fx.front.addRule({ method: "GET", path: /^\/v2\/f\/b\/tags\/list$/, action: FAULTS.status500 });
    const res = await request("GET", `${fx.proxy.url}/v2/_catalog`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json<{ repositories: string[] }>().repositories, ["f/a", "f/b", "f/d"]);
    fx.front.clearRules();
  });

  it("GET /v2/_catalog?n=1: the registry's continuation page failing is a 502, never a short page or a page without its Link", async () => {
    fx.front.clearRules();
    // Every registry page after a name resets: the client's own first page (no last) passes.
    fx.front.addRule({
      method: "GET",
      path: /^\/v2\/_catalog$/,
      when: (req) => (req.url ?? "").includes("last="),
      action: FAULTS.reset,
    });
    // f/a fills the page; whether a Link follows needs the names after f/b and f/c (empty).
    for (const query of ["n=1", "n=1&last=f%2Fa"]) {
      const res = await request("GET", `${fx.proxy.url}/v2/_catalog?${query}`);
      assert.equal(res.status, 502, `${query}: ${res.text}`);
      assert.equal(res.json<{ errors: { code: string }[] }>().errors[0]!.code, "UNAVAILABLE");
    }
    fx.front.clearRules();
    const whole = await request("GET", `${fx.proxy.url}/v2/_catalog?n=1&last=f%2Fa`);
    assert.deepEqual(whole.json<{ repositories: string[] }>().repositories, ["f/d"]);
    assert.equal(whole.headers.link, undefined);
    fx.front.clearRules();
  });

  it("GET /v2/_catalog with the registry's catalog answering 500: relayed, OCI JSON", async () => {
    fx.front.clearRules();
    fx.front.addRule({ method: "GET", path: /^\/v2\/_catalog$/, action: FAULTS.status500 });
    const res = await request("GET", `${fx.proxy.url}/v2/_catalog`);
    assert.equal(res.status, 500);
    assert.equal(res.json<{ errors: { code: string }[] }>().errors[0]!.code, "UNKNOWN");
    fx.front.clearRules();
  });
});
