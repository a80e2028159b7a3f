/**
 * The digest delete guard (delete.digestDeletes: protect) behind Basic and Bearer
 * auth: the lookup uses the caller's own credentials; under token auth the
 * challenge asks for `pull,delete` (a digest delete's token has `delete` only,
 * the lookup reads tags), so one token fetch is enough. Real docker-registry
 * 2.8, the test token server, skopeo and the curl script.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseChallenge, requestWithToken, scopesOf } from "../helpers/bearer.js";
import { headThenDelete, refusalOf, skopeoDelete } from "../helpers/digest-delete.js";
import { createHtpasswd, type Htpasswd } from "../helpers/htpasswd.js";
import { request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { errorCode, pushKind, tagsOf } from "../helpers/tag-delete.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

const PROTECT = { delete: { digestDeletes: "protect" } };

describe("guarded digest deletes with an htpasswd (Basic) upstream", () => {
  let htpasswd: Htpasswd;
  let registry: TestRegistry;
  let proxy: TestProxy;
  let good: string;

  before(async () => {
    htpasswd = createHtpasswd({ alice: "alice-secret-1" });
    good = htpasswd.basic("alice");
    registry = await startRegistry({ htpasswdFile: htpasswd.file });
    proxy = await startProxy(registry.url, PROTECT);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    htpasswd?.cleanup();
  });

  it("DELETE by digest without credentials: 401 with the Basic challenge unchanged, nothing deleted", async () => {
    const { digest } = await pushKind(registry.url, "b/one", "docker-v2", ["a"], good);
    const res = await request("DELETE", `${proxy.url}/v2/b/one/manifests/${digest}`);
    assert.equal(res.status, 401);
    assert.equal(res.headers["www-authenticate"], 'Basic realm="basic-realm"');
    assert.equal(errorCode(res), "UNAUTHORIZED");
    assert.deepEqual(await tagsOf(registry.url, "b/one", good), ["a"]);
  });

  it("with credentials: two tags 403 DENIED naming them, one tag 202", async () => {
    const two = await pushKind(registry.url, "b/two", "oci-manifest", ["a", "b"], good);
    const refused = await request("DELETE", `${proxy.url}/v2/b/two/manifests/${two.digest}`, {
      headers: { authorization: good },
    });
    assert.equal(refused.status, 403, refused.text);
    assert.deepEqual(refusalOf(refused).detail.tags, ["a", "b"]);
    const one = await pushKind(registry.url, "b/single", "oci-manifest", ["a"], good);
    const done = await request("DELETE", `${proxy.url}/v2/b/single/manifests/${one.digest}`, {
      headers: { authorization: good },
    });
    assert.equal(done.status, 202, done.text);
    assert.deepEqual(await tagsOf(registry.url, "b/single", good), []);
  });

  it("skopeo delete --creds and the HEAD-then-DELETE script with curl -u", async () => {
    const host = proxy.url.replace("http://", "");
    await pushKind(registry.url, "b/skopeo", "oci-manifest", ["a", "b"], good);
    const refused = await skopeoDelete(host, "b/skopeo:a", htpasswd.creds("alice"));
    assert.equal(refused.ok, false);
    assert.match(refused.stderr, /is tagged a and b \(2 tags\).*\(403 Forbidden\)/);
    await pushKind(registry.url, "b/skopeo-one", "oci-manifest", ["only"], good);
    const done = await skopeoDelete(host, "b/skopeo-one:only", htpasswd.creds("alice"));
    assert.ok(done.ok, done.stderr);

    await pushKind(registry.url, "b/script", "docker-v2", ["a", "b"], good);
    assert.equal((await headThenDelete(proxy.url, "b/script", "a", htpasswd.creds("alice"))).status, 403);
    await pushKind(registry.url, "b/script-one", "docker-v2", ["a"], good);
    assert.equal((await headThenDelete(proxy.url, "b/script-one", "a", htpasswd.creds("alice"))).status, 202);
    assert.deepEqual(await tagsOf(registry.url, "b/script", good), ["a", "b"]);
    assert.deepEqual(await tagsOf(registry.url, "b/script-one", good), []);
  });
});

describe("guarded digest deletes with a token (Bearer) upstream", () => {
  let tokens: TokenServer;
  let registry: TestRegistry;
  let proxy: TestProxy;
  const bearer = (repo: string, actions: string[]) =>
    `Bearer ${tokens.issue("admin", [{ type: "repository", name: repo, actions }])}`;

  before(async () => {
    tokens = await startTokenServer({
      users: {
        admin: { password: "pw", repositories: { "*": ["pull", "push", "delete"] } },
        // skopeo delete asks for `*` (containers/image: docker/distribution needs pull and delete).
        ops: { password: "pw", repositories: { "*": ["*"] } },
        reader: { password: "pw", repositories: { "*": ["pull"] } },
      },
    });
    registry = await startRegistry({ token: tokens.registryAuth });
    proxy = await startProxy(registry.url, PROTECT);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await tokens?.stop();
  });

  const challengeOf = (res: { headers: Record<string, unknown> }) =>
    res.headers["www-authenticate"] as string | undefined;

  it("DELETE by digest without a token: 401 Bearer challenge of the upstream's realm, scope pull,delete", async () => {
    const all = bearer("t/app", ["pull", "push", "delete"]);
    const { digest } = await pushKind(registry.url, "t/app", "oci-manifest", ["a"], all);
    const res = await request("DELETE", `${proxy.url}/v2/t/app/manifests/${digest}`);
    assert.equal(res.status, 401, res.text);
    assert.equal(
      challengeOf(res),
      `Bearer realm="${tokens.realm}",service="${tokens.service}",scope="repository:t/app:pull,delete"`,
    );
    assert.deepEqual(await tagsOf(registry.url, "t/app", all), ["a"]);
  });

  it("a delete-only token (what a digest delete asks for): 401 insufficient_scope widened to pull,delete", async () => {
    const all = bearer("t/narrow", ["pull", "push", "delete"]);
    const { digest } = await pushKind(registry.url, "t/narrow", "oci-manifest", ["a"], all);
    const res = await request("DELETE", `${proxy.url}/v2/t/narrow/manifests/${digest}`, {
      headers: { authorization: bearer("t/narrow", ["delete"]) },
    });
    assert.equal(res.status, 401, res.text);
    const c = parseChallenge(challengeOf(res));
    assert.deepEqual(scopesOf(c), ["repository:t/narrow:delete,pull"]);
    assert.equal(c?.params["error"], "insufficient_scope");
    assert.deepEqual(await tagsOf(registry.url, "t/narrow", all), ["a"]);
  });

  it("a pull-only token passes the lookup; the upstream's 401 on the DELETE asks for pull,delete too", async () => {
    const all = bearer("t/reader", ["pull", "push", "delete"]);
    const { digest } = await pushKind(registry.url, "t/reader", "oci-manifest", ["a"], all);
    const res = await request("DELETE", `${proxy.url}/v2/t/reader/manifests/${digest}`, {
      headers: { authorization: bearer("t/reader", ["pull"]) },
    });
    assert.equal(res.status, 401, res.text);
    assert.deepEqual(scopesOf(parseChallenge(challengeOf(res))), ["repository:t/reader:delete,pull"]);
    assert.deepEqual(await tagsOf(registry.url, "t/reader", all), ["a"]);
  });

  it("one token fetched from the widened challenge is enough: two tags 403, one tag 202", async () => {
    const all = bearer("t/flow", ["pull", "push", "delete"]);
    const two = await pushKind(registry.url, "t/flow", "oci-manifest", ["a", "b"], all);
    const refused = await requestWithToken(
      "DELETE",
      `${proxy.url}/v2/t/flow/manifests/${two.digest}`,
      "admin:pw",
    );
    assert.equal(refused.res.status, 403, refused.res.text);
    assert.deepEqual(refusalOf(refused.res).detail.tags, ["a", "b"]);
    const one = await pushKind(
      registry.url,
      "t/flow-one",
      "oci-manifest",
      ["a"],
      bearer("t/flow-one", ["pull", "push", "delete"]),
    );
    const done = await requestWithToken(
      "DELETE",
      `${proxy.url}/v2/t/flow-one/manifests/${one.digest}`,
      "admin:pw",
    );
    assert.equal(done.res.status, 202, done.res.text);
    assert.deepEqual(await tagsOf(registry.url, "t/flow-one", bearer("t/flow-one", ["pull"])), []);
  });

  it("skopeo delete --creds through the token server: refused with two tags, done with one", async () => {
    const host = proxy.url.replace("http://", "");
    const all = bearer("t/skopeo", ["pull", "push", "delete"]);
    await pushKind(registry.url, "t/skopeo", "oci-manifest", ["a", "b"], all);
    const refused = await skopeoDelete(host, "t/skopeo:a", "ops:pw");
    assert.equal(refused.ok, false);
    assert.match(refused.stderr, /is tagged a and b \(2 tags\).*\(403 Forbidden\)/);
    const one = bearer("t/skopeo-one", ["pull", "push", "delete"]);
    await pushKind(registry.url, "t/skopeo-one", "oci-manifest", ["only"], one);
    const done = await skopeoDelete(host, "t/skopeo-one:only", "ops:pw");
    assert.ok(done.ok, done.stderr);
    // containers/image asks for `*` on the repository for a delete (it needs pull and delete).
    const asked = tokens
      .requests()
      .filter((r) => r.account === "ops")
      .flatMap((r) => r.scopes);
    assert.ok(asked.includes("repository:t/skopeo-one:*"), asked.join(" "));
    assert.deepEqual(await tagsOf(registry.url, "t/skopeo-one", one), []);
  });
});
