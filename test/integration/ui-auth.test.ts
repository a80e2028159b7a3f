/**
 * The web UI has no privilege of its own: behind htpasswd a visitor without
 * credentials gets the UI's Basic challenge (the browser's prompt) and sees
 * nothing, a wrong password the same, the right one everything; behind a token
 * server the Basic login is exchanged at the realm per scope, so a pull-only
 * user reads and cannot delete, and a user with delete can. Against
 * docker-registry 2.8.2 and the test token server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHtpasswd, type Htpasswd } from "../helpers/htpasswd.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";
import { hooks, postDelete, postUndelete, tagRows, uiGet } from "../helpers/ui.js";

const CHALLENGE = 'Basic realm="registry-compat-proxy", charset="UTF-8"';

async function digestOf(base: string, repo: string, tag: string, auth: string): Promise<string | null> {
  const res = await request("HEAD", `${base}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: ALL_MANIFEST_TYPES, authorization: auth },
  });
  return res.status === 200 ? (res.headers["docker-content-digest"] as string) : null;
}

describe("web UI behind htpasswd (Basic)", () => {
  let htpasswd: Htpasswd;
  let registry: TestRegistry;
  let proxy: TestProxy;
  let alice: string;
  const image = makeImage();

  before(async () => {
    htpasswd = createHtpasswd({ alice: "alice-pw" });
    alice = htpasswd.basic("alice");
    registry = await startRegistry({ htpasswdFile: htpasswd.file });
    proxy = await startProxy(registry.url);
    await pushImage(proxy.url, "secret/app", image, ["keep", "drop"], alice);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    htpasswd?.cleanup();
  });

  it("without credentials, or with a wrong password, every page answers the UI's challenge and shows nothing", async () => {
    for (const auth of [undefined, htpasswd.basic("alice", "wrong"), htpasswd.basic("alice", "")]) {
      for (const path of [
        "/ui/",
        "/ui/r/secret/app",
        "/ui/r/secret/app/_tags/keep",
        "/ui/r/secret/app/_tags/drop/_delete",
      ]) {
        const res = await uiGet(proxy.url, path, auth ? { authorization: auth } : {});
        assert.equal(res.status, 401, `${path} ${auth ?? "anonymous"}`);
        assert.equal(res.headers["www-authenticate"], CHALLENGE);
        assert.ok(!res.text.includes("secret/app"), "no repository named");
        assert.deepEqual(tagRows(res.text), []);
        assert.doesNotMatch(res.text, /sha256:/, "no digest shown");
      }
    }
    const login = await uiGet(proxy.url, "/ui/_login");
    assert.equal(login.status, 401);
    assert.equal(login.headers["www-authenticate"], CHALLENGE);
  });

  it("POST delete without credentials is challenged and deletes nothing", async () => {
    const res = await postDelete(proxy.url, "secret/app", "drop", image.manifest.digest);
    assert.equal(res.status, 401);
    assert.equal(res.headers["www-authenticate"], CHALLENGE);
    assert.equal(await digestOf(registry.url, "secret/app", "drop", alice), image.manifest.digest);
  });

  it("with the registry login: the catalog, the tags, and the delete of one tag (its sibling stays)", async () => {
    const h = { authorization: alice };
    const home = await uiGet(proxy.url, "/ui/", h);
    assert.equal(home.status, 200, home.text);
    assert.deepEqual(hooks(home.text, "repository-row", "data-repository"), ["secret/app"]);
    assert.match(home.text, /signed in as <b>alice<\/b>/);
    const tags = await uiGet(proxy.url, "/ui/r/secret/app", h);
    assert.deepEqual(tagRows(tags.text), ["drop", "keep"]);
    const confirm = await uiGet(proxy.url, "/ui/r/secret/app/_tags/drop/_delete", h);
    assert.deepEqual(hooks(confirm.text, "sibling", "data-tag"), ["keep"]);
    const res = await postDelete(proxy.url, "secret/app", "drop", image.manifest.digest, h);
    assert.equal(res.status, 303, res.text);
    assert.equal(await digestOf(registry.url, "secret/app", "drop", alice), null);
    assert.equal(await digestOf(registry.url, "secret/app", "keep", alice), image.manifest.digest);
    const login = await uiGet(proxy.url, "/ui/_login", h);
    assert.equal(login.status, 303);
  });

  it("the deleted tag's history: challenged without the login (nothing put back); alice puts it back, recorded as hers", async () => {
    const digest = image.manifest.digest;
    const form = { digest, current: "" };
    for (const auth of [undefined, htpasswd.basic("alice", "wrong")]) {
      const h: Record<string, string> = auth ? { authorization: auth } : {};
      for (const path of [
        "/ui/r/secret/app/_tags/drop",
        "/ui/r/secret/app/_history",
        "/ui/r/secret/app/_tags/drop/_history",
      ]) {
        const res = await uiGet(proxy.url, path, h);
        assert.equal(res.status, 401, path);
        assert.equal(res.headers["www-authenticate"], CHALLENGE);
        assert.doesNotMatch(res.text, /sha256:/, "no digest shown");
      }
      const put = await postUndelete(proxy.url, "secret/app", "drop", form, h);
      assert.equal(put.status, 401, put.text);
      assert.equal(put.headers["www-authenticate"], CHALLENGE);
    }
    assert.equal(await digestOf(registry.url, "secret/app", "drop", alice), null, "nothing put back");
    const h = { authorization: alice };
    const page = await uiGet(proxy.url, "/ui/r/secret/app/_tags/drop", h);
    assert.equal(page.status, 404);
    assert.deepEqual(hooks(page.text, "history-row", "data-digest"), [digest, digest]);
    const put = await postUndelete(proxy.url, "secret/app", "drop", form, h);
    assert.equal(put.status, 303, put.text);
    assert.equal(await digestOf(registry.url, "secret/app", "drop", alice), digest);
    const [newest] = await proxy.proxy.deps.history.tagEntries("secret/app", "drop");
    assert.deepEqual([newest?.type, newest?.via, newest?.user], ["TagMoved", "undelete", "alice"]);
  });
});

describe("web UI behind a token server (Bearer): the visitor's login is exchanged at the realm", () => {
  let tokens: TokenServer;
  let registry: TestRegistry;
  let proxy: TestProxy;
  const image = makeImage();
  const ALICE = `Basic ${Buffer.from("alice:alice-pw").toString("base64")}`;
  const BOB = `Basic ${Buffer.from("bob:bob-pw").toString("base64")}`;

  before(async () => {
    tokens = await startTokenServer({
      users: {
        alice: { password: "alice-pw", repositories: { "*": ["*"] }, catalog: true },
        bob: { password: "bob-pw", repositories: { "*": ["pull"] } },
      },
    });
    registry = await startRegistry({ token: tokens.registryAuth });
    proxy = await startProxy(registry.url);
    // Pushed with alice's token, straight to the registry.
    const token = tokens.issue("alice", [{ type: "repository", name: "tok/app", actions: ["pull", "push"] }]);
    await pushImage(registry.url, "tok/app", image, ["keep", "drop"], `Bearer ${token}`);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await tokens?.stop();
  });

  const directDigest = async (tag: string) => {
    const token = tokens.issue("alice", [{ type: "repository", name: "tok/app", actions: ["pull"] }]);
    return digestOf(registry.url, "tok/app", tag, `Bearer ${token}`);
  };

  it("anonymous visitors are challenged; a pull-only user reads but the catalog and the delete are refused", async () => {
    const anon = await uiGet(proxy.url, "/ui/r/tok/app");
    assert.equal(anon.status, 401);
    assert.equal(anon.headers["www-authenticate"], CHALLENGE);
    const h = { authorization: BOB };
    const tags = await uiGet(proxy.url, "/ui/r/tok/app", h);
    assert.equal(tags.status, 200, tags.text);
    assert.deepEqual(tagRows(tags.text), ["drop", "keep"]);
    const catalog = await uiGet(proxy.url, "/ui/", h);
    assert.equal(catalog.status, 403, "bob may not list the catalog");
    assert.match(catalog.text, /The catalog cannot be listed/);
    assert.match(catalog.text, /<form class="goto" method="get" action="\/ui\/r\/">/, "a way on by name");
    const res = await postDelete(proxy.url, "tok/app", "drop", image.manifest.digest, h);
    assert.equal(res.status, 401, res.text);
    assert.equal(await directDigest("drop"), image.manifest.digest, "nothing deleted");
    const scopes = tokens
      .requests()
      .filter((r) => r.account === "bob")
      .flatMap((r) => r.scopes);
    assert.ok(scopes.includes("repository:tok/app:pull"), scopes.join(" "));
  });

  it("a user with delete rights deletes one tag; the sibling stays", async () => {
    const h = { authorization: ALICE };
    const catalog = await uiGet(proxy.url, "/ui/", h);
    assert.deepEqual(hooks(catalog.text, "repository-row", "data-repository"), ["tok/app"]);
    const res = await postDelete(proxy.url, "tok/app", "drop", image.manifest.digest, h);
    assert.equal(res.status, 303, res.text);
    assert.equal(await directDigest("drop"), null);
    assert.equal(await directDigest("keep"), image.manifest.digest);
    const granted = tokens.requests().filter((r) => r.account === "alice" && r.status === 200);
    assert.ok(
      granted.some((r) => r.scopes.some((s) => s.includes("delete"))),
      "a token with delete was fetched",
    );
  });

  it("a pull-only user sees the deleted tag's history but is asked for another login to put it back; alice can", async () => {
    const digest = image.manifest.digest;
    const form = { digest, current: "" };
    const seen = await uiGet(proxy.url, "/ui/r/tok/app/_tags/drop", { authorization: BOB });
    assert.equal(seen.status, 404, seen.text);
    assert.deepEqual(hooks(seen.text, "history-row", "data-digest"), [digest]);
    const refused = await postUndelete(proxy.url, "tok/app", "drop", form, { authorization: BOB });
    assert.equal(refused.status, 401, refused.text);
    assert.equal(refused.headers["www-authenticate"], CHALLENGE);
    assert.equal(await directDigest("drop"), null, "nothing put back");
    const put = await postUndelete(proxy.url, "tok/app", "drop", form, { authorization: ALICE });
    assert.equal(put.status, 303, put.text);
    assert.equal(await directDigest("drop"), digest);
    const [newest] = await proxy.proxy.deps.history.tagEntries("tok/app", "drop");
    assert.deepEqual([newest?.via, newest?.user], ["undelete", "alice"]);
  });
});
