/**
 * `GET /v2/_catalog` through the proxy in front of a registry with auth (issue
 * 32): the catalog and every name's tags check go with the caller's own
 * credentials, so the registry decides, and nothing is learnt from a repository
 * the caller may not read.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { basicAuth, fetchToken, parseChallenge } from "../helpers/bearer.js";
import { emptyByDigest, pushRepositories, wholeCatalog } from "../helpers/catalog.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { createHtpasswd, type Htpasswd } from "../helpers/htpasswd.js";
import { request } from "../helpers/http.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

describe("GET /v2/_catalog through the proxy, htpasswd (Basic) registry", () => {
  let htpasswd: Htpasswd;
  const ALICE = basicAuth("alice:alice-Secret-1");
  before(() => {
    htpasswd = createHtpasswd({ alice: "alice-Secret-1" });
  });
  after(() => htpasswd?.cleanup());
  const fx = useRegistryAndProxy(() => ({ registry: { htpasswdFile: htpasswd.file } }));
  before(async () => {
    const digest = await pushRepositories(fx.registry.url, ["basic/a", "basic/b", "basic/c"], ALICE);
    await emptyByDigest(fx.registry.url, "basic/b", digest, ALICE);
  });

  it("GET /v2/_catalog without credentials: the registry's 401 and challenge unchanged", async () => {
    const direct = await request("GET", `${fx.registry.url}/v2/_catalog`);
    const res = await request("GET", `${fx.proxy.url}/v2/_catalog`);
    assert.equal(res.status, 401);
    assert.equal(res.headers["www-authenticate"], direct.headers["www-authenticate"]);
    assert.equal(res.text, direct.text);
  });

  it("GET /v2/_catalog with a login: the repositories with tags only", async () => {
    assert.deepEqual(await wholeCatalog(fx.registry.url, ALICE), ["basic/a", "basic/b", "basic/c"]);
    assert.deepEqual(await wholeCatalog(fx.proxy.url, ALICE), ["basic/a", "basic/c"]);
    const wrong = await request("GET", `${fx.proxy.url}/v2/_catalog`, {
      headers: { authorization: basicAuth("alice:wrong") },
    });
    assert.equal(wrong.status, 401);
  });
});

describe("GET /v2/_catalog through the proxy, token (Bearer) registry", () => {
  let tokens: TokenServer;
  before(async () => {
    tokens = await startTokenServer({
      users: {
        alice: { password: "alice-pw", repositories: { "*": ["*"] }, catalog: true },
        carol: { password: "carol-pw", repositories: { "tok/a": ["pull"] }, catalog: true },
      },
    });
  });
  after(async () => tokens?.stop());
  const fx = useRegistryAndProxy(() => ({ registry: { token: tokens.registryAuth } }));
  let challenge: ReturnType<typeof parseChallenge>;
  const bearer = async (creds: string, scopes: string[]) =>
    `Bearer ${await fetchToken(challenge!, creds, scopes)}`;
  before(async () => {
    challenge = parseChallenge(
      (await request("GET", `${fx.registry.url}/v2/_catalog`)).headers["www-authenticate"],
    );
    const names = ["tok/a", "tok/b", "tok/c", "tok/d"];
    const push = await bearer(
      "alice:alice-pw",
      names.map((n) => `repository:${n}:pull,push,delete`),
    );
    const digest = await pushRepositories(fx.registry.url, names, push);
    await emptyByDigest(fx.registry.url, "tok/b", digest, push);
    await emptyByDigest(fx.registry.url, "tok/d", digest, push);
  });

  it("a token with registry:catalog:* and pull on every repository: only those with tags", async () => {
    const token = await bearer("alice:alice-pw", [
      "registry:catalog:*",
      ...["tok/a", "tok/b", "tok/c", "tok/d"].map((n) => `repository:${n}:pull`),
    ]);
    assert.deepEqual(await wholeCatalog(fx.registry.url, token), ["tok/a", "tok/b", "tok/c", "tok/d"]);
    assert.deepEqual(await wholeCatalog(fx.proxy.url, token), ["tok/a", "tok/c"]);
  });

  it("a token with registry:catalog:* only: every name as the registry lists it (nothing learnt from repositories it cannot read)", async () => {
    const token = await bearer("alice:alice-pw", ["registry:catalog:*"]);
    assert.deepEqual(await wholeCatalog(fx.proxy.url, token), await wholeCatalog(fx.registry.url, token));
  });

  it("a token with pull on some repositories: those it can read are filtered, the others listed as the registry lists them; another caller's answers are not reused", async () => {
    // carol may pull tok/a only: tok/b (empty) and tok/d (empty) stay listed for her.
    const token = await bearer("carol:carol-pw", [
      "registry:catalog:*",
      "repository:tok/a:pull",
      "repository:tok/b:pull",
    ]);
    assert.deepEqual(await wholeCatalog(fx.proxy.url, token), ["tok/a", "tok/b", "tok/c", "tok/d"]);
    const catalogOnly = await request("GET", `${fx.proxy.url}/v2/_catalog`, {
      headers: { authorization: await bearer("carol:carol-pw", ["repository:tok/a:pull"]) },
    });
    assert.equal(catalogOnly.status, 401, "no catalog scope: the registry's 401");
  });
});
