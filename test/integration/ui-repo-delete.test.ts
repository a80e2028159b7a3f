/**
 * The web UI's repository delete against a real docker-registry 2.8.2: the
 * repository page offers it, the confirmation names the repository and its tag
 * count, the form POST (same-origin, csrf-checked) deletes every tag through the
 * proxy's repository delete with the visitor's credentials; refusals are pages
 * (immutable tags, no such repository, the read-only window, no rights) and change
 * nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { entries } from "../helpers/history.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { errorCode, tagsOf } from "../helpers/tag-delete.js";
import { seed } from "../helpers/tags.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";
import { hooks, postForm, uiGet } from "../helpers/ui.js";

/** The repository delete form as a browser posts it from the proxy's page. */
function postRepoDelete(
  base: string,
  name: string,
  count: string,
  headers: Record<string, string | undefined> = {},
) {
  return postForm(base, `/ui/r/${name}/_delete`, { count }, headers);
}

describe("web UI: delete a repository", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let admin: string;
  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, {
      metrics: { port: 0 },
      tags: { immutable: ["ui/locked:v*"] },
    });
    admin = proxy.proxy.metricsUrl()!;
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it("the repository page links the confirmation, which names the repository and its tag count", async () => {
    await seed(registry.url, "ui/app", ["a", "b", "c"]);
    const page = await uiGet(proxy.url, "/ui/r/ui/app");
    assert.match(page.text, /href="\/ui\/r\/ui\/app\/_delete" data-testid="delete-repository-link"/);
    const res = await uiGet(proxy.url, "/ui/r/ui/app/_delete");
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /<h1>Delete repository ui\/app\?<\/h1>/);
    assert.deepEqual(hooks(res.text, "repo-tag-count", "data-count"), ["3"]);
    assert.match(res.text, /<form method="post" action="\/ui\/r\/ui\/app\/_delete">/);
    assert.match(res.text, /name="count" value="3"/);
    assert.deepEqual(await tagsOf(registry.url, "ui/app"), ["a", "b", "c"], "a GET changes nothing");
  });

  it("POST from another site or with a stale count changes nothing; the confirmed POST deletes every tag", async () => {
    // With a layer: 2.8's catalog lists only repositories that hold one.
    await pushImage(registry.url, "ui/go", makeImage({ layerCount: 1, layerSize: 64 }), ["a", "b"]);
    const listed = (html: string) => hooks(html, "repository-row", "data-repository").includes("ui/go");
    assert.ok(listed((await uiGet(proxy.url, "/ui/?n=500")).text), "listed while it has tags");
    assert.ok(listed((await uiGet(proxy.url, "/ui/?q=ui%2Fgo")).text), "found by a filter while it has tags");
    for (const origin of [undefined, "http://evil.example"]) {
      const res = await postRepoDelete(proxy.url, "ui/go", "2", { origin });
      assert.equal(res.status, 403, String(origin));
    }
    const stale = await postRepoDelete(proxy.url, "ui/go", "5");
    assert.equal(stale.status, 409, stale.text);
    assert.match(stale.text, /data-testid="tags-changed"/);
    assert.deepEqual(await tagsOf(registry.url, "ui/go"), ["a", "b"]);

    const res = await postRepoDelete(proxy.url, "ui/go", "2");
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /data-reason="deleted"/);
    assert.match(res.text, /ui\/go was deleted: 2 tags \(a, b\)/);
    assert.deepEqual(await tagsOf(registry.url, "ui/go"), []);
    assert.ok(
      !listed((await uiGet(proxy.url, "/ui/?n=500")).text),
      "the repositories page leaves it out at once",
    );
    assert.ok(!listed((await uiGet(proxy.url, "/ui/?q=ui%2Fgo")).text), "so does a filter");
    const list = await request("GET", `${proxy.url}/v2/ui/go/tags/list`);
    assert.equal(errorCode(list), "NAME_UNKNOWN");
    const history = await entries(admin, "ui/go");
    assert.deepEqual(
      history.map((e) => e.type),
      ["TagDeleted", "TagDeleted"],
    );
  });

  it("an immutable tag: the confirmation and the POST are refusal pages naming it; nothing changes", async () => {
    await seed(registry.url, "ui/locked", ["latest", "v1"]);
    const page = await uiGet(proxy.url, "/ui/r/ui/locked/_delete");
    assert.equal(page.status, 403);
    assert.match(page.text, /data-reason="immutable"/);
    assert.match(page.text, /immutable tags \(v1\)/);
    const post = await postRepoDelete(proxy.url, "ui/locked", "2");
    assert.equal(post.status, 403);
    assert.match(String(post.headers["content-type"]), /^text\/html/);
    assert.match(post.text, /immutable tags \(v1\)/);
    assert.deepEqual(await tagsOf(registry.url, "ui/locked"), ["latest", "v1"]);
  });

  it("no such repository: a 404 page", async () => {
    const res = await uiGet(proxy.url, "/ui/r/ui/none/_delete");
    assert.equal(res.status, 404);
    assert.match(res.text, /data-reason="unknown"/);
  });

  it("inside the read-only window: the confirmation says so (503) and a POST is refused; nothing changes", async () => {
    await seed(registry.url, "ui/window", ["t"]);
    const enter = await request("POST", `${admin}/admin/read-only`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ holder: "test", leaseMs: 60_000 }),
    });
    assert.equal(enter.status, 200, enter.text);
    const lease = enter.json<{ lease: { id: string } }>().lease.id;
    try {
      const page = await uiGet(proxy.url, "/ui/r/ui/window/_delete");
      assert.equal(page.status, 503);
      assert.match(page.text, /data-reason="read-only"/);
      const post = await postRepoDelete(proxy.url, "ui/window", "1");
      assert.equal(post.status, 503);
      assert.deepEqual(await tagsOf(registry.url, "ui/window"), ["t"]);
    } finally {
      await request("DELETE", `${admin}/admin/read-only/${lease}`);
    }
  });
});

describe("web UI repository delete behind a token server: the visitor's rights decide", () => {
  let tokens: TokenServer;
  let registry: TestRegistry;
  let proxy: TestProxy;
  const ALICE = `Basic ${Buffer.from("alice:alice-pw").toString("base64")}`;
  const BOB = `Basic ${Buffer.from("bob:bob-pw").toString("base64")}`;
  before(async () => {
    tokens = await startTokenServer({
      users: {
        alice: { password: "alice-pw", repositories: { "*": ["*"] } },
        bob: { password: "bob-pw", repositories: { "*": ["pull"] } },
      },
    });
    registry = await startRegistry({ token: tokens.registryAuth });
    proxy = await startProxy(registry.url);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await tokens?.stop();
  });

  it("a pull-only user sees the confirmation but the POST asks for another login and changes nothing; alice deletes", async () => {
    const all = `Bearer ${tokens.issue("alice", [{ type: "repository", name: "tok/repo", actions: ["pull", "push"] }])}`;
    await seed(registry.url, "tok/repo", ["a", "b"], all);
    const confirm = await uiGet(proxy.url, "/ui/r/tok/repo/_delete", { authorization: BOB });
    assert.equal(confirm.status, 200, confirm.text);
    const bob = await postRepoDelete(proxy.url, "tok/repo", "2", { authorization: BOB });
    assert.equal(bob.status, 401, bob.text);
    assert.deepEqual(await tagsOf(registry.url, "tok/repo", all), ["a", "b"]);
    const alice = await postRepoDelete(proxy.url, "tok/repo", "2", { authorization: ALICE });
    assert.equal(alice.status, 200, alice.text);
    assert.deepEqual(await tagsOf(registry.url, "tok/repo", all), []);
  });
});
