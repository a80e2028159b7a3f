import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { identityOf, login, PLAIN } from "../../src/registry-client/credentials.js";
import { expected, type Failure, registryError } from "../../src/registry-client/failure.js";
import { UpstreamError } from "../../src/registry-client/http.js";
import { nextPath, readList } from "../../src/registry-client/pages.js";
import { createTokenCache, parseTokenResponse } from "../../src/registry-client/token-cache.js";
import { scopeOf } from "../../src/registry-client/transport.js";

describe("scopeOf: the token scope a registry path needs", () => {
  const cases: Array<[string, string, string]> = [
    ["GET", "/v2/a/b/manifests/v1", "repository:a/b:pull"],
    ["HEAD", "/v2/a/blobs/sha256:ab", "repository:a:pull"],
    ["PUT", "/v2/a/manifests/v1", "repository:a:pull,push"],
    ["DELETE", "/v2/a/manifests/v1", "repository:a:delete"],
    ["GET", "/v2/x/tags/manifests/list", "repository:x/tags:pull"],
    ["GET", "/v2/a/tags/list?n=2", "repository:a:pull"],
    ["PATCH", "/v2/a/blobs/uploads/u1?_state=s", "repository:a:pull,push"],
    ["GET", "/v2/_catalog?n=10", "registry:catalog:*"],
    ["GET", "/v2/", ""],
    ["GET", "/healthz", ""],
  ];
  for (const [method, path, scope] of cases) {
    it(`${method} ${path} → ${scope || "(none)"}`, () => assert.equal(scopeOf(method, path), scope));
  }
});

describe("nextPath: a next-page Link the client follows", () => {
  const registry = {
    url: new URL("http://reg:5000/prefix"),
    prefix: "/prefix",
    origins: new Set(["http://reg:5000", "https://public.example"]),
  };
  it("follows the same list on the registry itself, under its prefix or a public name", () => {
    assert.equal(
      nextPath(registry, "/prefix/v2/a/tags/list?last=x", "/v2/a/tags/list"),
      "/v2/a/tags/list?last=x",
    );
    assert.equal(
      nextPath(registry, "https://public.example/prefix/v2/_catalog?n=1&last=b", "/v2/_catalog"),
      "/v2/_catalog?n=1&last=b",
    );
  });
  it("never follows another origin or another list", () => {
    assert.equal(nextPath(registry, "http://evil:5000/prefix/v2/a/tags/list", "/v2/a/tags/list"), null);
    assert.equal(nextPath(registry, "/prefix/v2/b/tags/list", "/v2/a/tags/list"), null);
    assert.equal(nextPath(registry, "http://[bad", "/v2/a/tags/list"), null);
  });
});

describe("readList", () => {
  it("reads a list, null as empty, and refuses anything else", () => {
    const tags = readList("tags");
    assert.deepEqual(tags(Buffer.from('{"name":"a","tags":["b","a"]}')), ["b", "a"]);
    assert.deepEqual(tags(Buffer.from('{"name":"a","tags":null}')), []);
    for (const bad of ["[]", "nope", '{"tags":[1]}', '{"tags":"a"}'])
      assert.equal(tags(Buffer.from(bad)), null);
  });
});

describe("credentials", () => {
  it("a login's identity hides its secret and differs per password; a caller has none", () => {
    const a = identityOf(login("u", "secret"));
    assert.ok(a && !a.includes("secret"));
    assert.notEqual(a, identityOf(login("u", "other")));
    assert.equal(identityOf(PLAIN), null);
  });
});

describe("failures as errors naming the call", () => {
  const status = (code: number, body: string, reason?: string): Failure => ({
    ok: false,
    kind: "status",
    status: code,
    headers: {},
    body: Buffer.from(body),
    code: undefined,
    ...(reason ? { reason } : {}),
  });
  it("status, token and network failures", () => {
    const body = JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
    assert.equal(
      registryError("GET catalog", status(401, body)).message,
      "GET catalog: 401 UNAUTHORIZED: authentication required (check the credentials)",
    );
    assert.equal(registryError("GET x", status(502, "")).message, "GET x: 502");
    assert.equal(
      registryError("GET x", status(401, "", "token request to http://t/token: 401")).message,
      "token request to http://t/token: 401",
    );
    const network: Failure = {
      ok: false,
      kind: "network",
      error: new UpstreamError("upstream GET failed: ECONNREFUSED", "unreachable", "ECONNREFUSED"),
      where: "GET http://h/v2/_catalog",
    };
    assert.equal(registryError("GET catalog", network).message, "GET http://h/v2/_catalog: ECONNREFUSED");
    assert.throws(() => expected(network, "GET catalog"), /ECONNREFUSED/);
    assert.equal(expected(null, "x"), null);
  });
});

describe("tokens", () => {
  it("parses token answers", () => {
    assert.deepEqual(parseTokenResponse('{"token":"t1","expires_in":300}'), { token: "t1", expiresIn: 300 });
    assert.deepEqual(parseTokenResponse('{"access_token":"t2"}'), { token: "t2", expiresIn: undefined });
    assert.throws(() => parseTokenResponse("{}"), /no token/);
    assert.throws(() => parseTokenResponse("<html>"), /not JSON/);
  });

  it("keeps a token until 5 s before it expires (60 s without expires_in)", () => {
    let now = 1_000_000;
    const cache = createTokenCache({ perf: { now: () => now } });
    cache.set(["repository:a:pull"], "A", 300);
    cache.set(["repository:b:pull"], "B", undefined);
    assert.equal(cache.get("repository:a:pull"), "A");
    assert.equal(cache.get("repository:c:pull"), undefined);
    now += 54_000;
    assert.equal(cache.get("repository:b:pull"), "B");
    now += 2_000; // 56 s: within 5 s of the default 60 s
    assert.equal(cache.get("repository:b:pull"), undefined);
    assert.equal(cache.get("repository:a:pull"), "A");
    now += 240_000; // 296 s
    assert.equal(cache.get("repository:a:pull"), undefined);
  });

  it("holds a bounded number of tokens", () => {
    const cache = createTokenCache({ max: 2 });
    cache.set(["a"], "A", 300);
    cache.set(["b"], "B", 300);
    cache.set(["c"], "C", 300);
    assert.equal(cache.get("a"), undefined);
    assert.equal(cache.get("c"), "C");
  });
});
