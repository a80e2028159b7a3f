/**
 * The tag history in the web UI over plain HTTP, against docker-registry 2.8.2:
 * a tag deleted in the UI shows on its page with its history and is put back
 * (the registry has it again, its sibling untouched); an overwrite put back on
 * the earlier digest; the repository's recent changes; the confirmation's
 * moved-since check, cross-site and non-form POSTs that change nothing; the
 * refusals shown as pages (immutable 403, content gone 410); and the history
 * off, said so on every page that would show it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { manifestOf } from "../helpers/tag-delete.js";
import { hooks, postDelete, postUndelete, uiGet } from "../helpers/ui.js";

const small = () => makeImage({ layerCount: 1, layerSize: 256 });

/** The attribute values of the history rows of a page. */
const historyDigests = (html: string) => hooks(html, "history-row", "data-digest");
const historyChanges = (html: string) => hooks(html, "history-row", "data-change");
/** The put-back links of a page (their addresses, decoded from the HTML). */
const putBackLinks = (html: string) =>
  hooks(html, "undelete-tag", "href").map((h) => h.replaceAll("&amp;", "&"));

describe("web UI: the tag history and undelete (docker-registry 2.8.2, open)", () => {
  const fx = useRegistryAndProxy({ proxy: { tags: { immutable: ["ui/imm:v*"] } } });

  it("a tag deleted in the UI shows on its page with its history; put back, the registry has it again", async () => {
    const repo = "ui/hist";
    const image = small();
    await pushImage(fx.proxy.url, repo, image, ["v1", "sibling"]);
    const digest = image.manifest.digest;
    const del = await postDelete(fx.proxy.url, repo, "v1", digest);
    assert.equal(del.status, 303, del.text);
    assert.equal(await manifestOf(fx.registry.url, repo, "v1"), null, "deleted upstream");

    const tags = await uiGet(fx.proxy.url, del.headers.location as string);
    assert.deepEqual(hooks(tags.text, "deleted-history-link", "href"), [`/ui/r/${repo}/_tags/v1`]);
    assert.deepEqual(hooks(tags.text, "repository-history-link", "href"), [`/ui/r/${repo}/_history`]);

    const page = await uiGet(fx.proxy.url, `/ui/r/${repo}/_tags/v1`);
    assert.equal(page.status, 404, "the tag does not exist now");
    assert.equal(hooks(page.text, "tag-gone", "data-testid").length, 1);
    assert.deepEqual(historyDigests(page.text), [digest, digest]);
    assert.deepEqual(historyChanges(page.text), ["deleted", "created"]);
    assert.deepEqual(
      putBackLinks(page.text),
      [`/ui/r/${repo}/_tags/v1/_undelete?digest=${encodeURIComponent(digest)}`],
      "one control per digest, on its newest entry",
    );

    const all = await uiGet(fx.proxy.url, `/ui/r/${repo}/_tags/v1/_history`);
    assert.equal(all.status, 200, "the tag's history page, whether or not the tag exists now");
    assert.deepEqual(historyChanges(all.text), ["deleted", "created"]);

    const changes = await uiGet(fx.proxy.url, `/ui/r/${repo}/_history`);
    assert.equal(changes.status, 200);
    assert.deepEqual(historyChanges(changes.text), ["deleted", "created", "created"]);
    assert.match(changes.text, new RegExp(`<a href="/ui/r/${repo}/_tags/v1">v1</a>`));

    const confirm = await uiGet(fx.proxy.url, putBackLinks(page.text)[0]!);
    assert.equal(confirm.status, 200, confirm.text);
    assert.match(confirm.text, new RegExp(`<form method="post" action="/ui/r/${repo}/_tags/v1/_undelete">`));
    assert.match(confirm.text, /<input type="hidden" name="current" value=""\/>/);
    assert.equal(hooks(confirm.text, "confirm-undelete", "type").length, 1);

    const put = await postUndelete(fx.proxy.url, repo, "v1", { digest, current: "" });
    assert.equal(put.status, 303, put.text);
    assert.equal(put.headers.location, `/ui/r/${repo}/_tags/v1?undeleted=${encodeURIComponent(digest)}`);
    assert.equal((await manifestOf(fx.registry.url, repo, "v1"))?.digest, digest, "back upstream");
    assert.equal((await manifestOf(fx.registry.url, repo, "sibling"))?.digest, digest, "sibling untouched");

    const back = await uiGet(fx.proxy.url, put.headers.location as string);
    assert.equal(back.status, 200);
    assert.equal(hooks(back.text, "undeleted-notice", "role").length, 1);
    assert.deepEqual(historyChanges(back.text), ["put back", "deleted", "created"]);
    assert.deepEqual(putBackLinks(back.text), [], "the tag is on that digest: nothing to put back");
    const again = await uiGet(fx.proxy.url, `/ui/r/${repo}/_tags/v1/_undelete?digest=${digest}`);
    assert.equal(again.status, 200);
    assert.match(again.text, /Nothing to put back/);
    assert.doesNotMatch(again.text, /<form method="post"/);
    const [newest] = await fx.proxy.proxy.deps.history.tagEntries(repo, "v1");
    assert.equal(newest?.type, "TagMoved");
    assert.equal(newest?.via, "undelete");
  });

  it("an overwrite is put back on the earlier digest, after a confirmation naming both", async () => {
    const repo = "ui/over";
    const [a, b] = [small(), small()];
    await pushImage(fx.proxy.url, repo, a, ["stable"]);
    await pushImage(fx.proxy.url, repo, b, ["stable"]);
    const page = await uiGet(fx.proxy.url, `/ui/r/${repo}/_tags/stable`);
    assert.equal(page.status, 200);
    assert.deepEqual(historyDigests(page.text), [b.manifest.digest, a.manifest.digest]);
    assert.deepEqual(historyChanges(page.text), ["moved", "created"]);
    const links = putBackLinks(page.text);
    assert.deepEqual(links, [
      `/ui/r/${repo}/_tags/stable/_undelete?digest=${encodeURIComponent(a.manifest.digest)}`,
    ]);
    const confirm = await uiGet(fx.proxy.url, links[0]!);
    assert.match(confirm.text, new RegExp(`name="current" value="${b.manifest.digest}"`));

    // Confirmed as if the tag did not exist: it does, so nothing moves and the confirmation comes back.
    const stale = await postUndelete(fx.proxy.url, repo, "stable", {
      digest: a.manifest.digest,
      current: "",
    });
    assert.equal(stale.status, 409, stale.text);
    assert.match(stale.text, /The tag has changed since you asked/);
    assert.equal((await manifestOf(fx.registry.url, repo, "stable"))?.digest, b.manifest.digest);

    const put = await postUndelete(fx.proxy.url, repo, "stable", {
      digest: a.manifest.digest,
      current: b.manifest.digest,
    });
    assert.equal(put.status, 303, put.text);
    assert.equal((await manifestOf(fx.registry.url, repo, "stable"))?.digest, a.manifest.digest);
  });

  it("cross-site, non-form and unconfirmed put-backs change nothing", async () => {
    const repo = "ui/csrf";
    const image = small();
    await pushImage(fx.proxy.url, repo, image, ["v1", "v2"]);
    assert.equal((await postDelete(fx.proxy.url, repo, "v1", image.manifest.digest)).status, 303);
    const form = { digest: image.manifest.digest, current: "" };
    const cross = await postUndelete(fx.proxy.url, repo, "v1", form, { origin: "http://evil.example" });
    assert.equal(cross.status, 403);
    assert.match(cross.text, /cross-site request refused/);
    const noOrigin = await postUndelete(fx.proxy.url, repo, "v1", form, {
      origin: undefined,
      "sec-fetch-site": "cross-site",
    });
    assert.equal(noOrigin.status, 403);
    const json = await postUndelete(fx.proxy.url, repo, "v1", form, { "content-type": "application/json" });
    assert.equal(json.status, 415);
    const noDigest = await postUndelete(fx.proxy.url, repo, "v1", { digest: "latest", current: "" });
    assert.equal(noDigest.status, 400);
    const unknown = await postUndelete(fx.proxy.url, repo, "v1", {
      digest: `sha256:${"0".repeat(64)}`,
      current: "",
    });
    assert.equal(unknown.status, 404, unknown.text);
    assert.match(unknown.text, /data-reason="not-in-history"/);
    assert.equal(await manifestOf(fx.registry.url, repo, "v1"), null, "still deleted");
  });

  it("an immutable tag that exists is not moved back: no control, and a forged form gets 403 saying why", async () => {
    const repo = "ui/imm";
    const [a, b] = [small(), small()];
    await pushImage(fx.proxy.url, repo, a, ["v1"]);
    await pushImage(fx.registry.url, repo, b, ["v1"]); // straight to the registry, around the guard
    const page = await uiGet(fx.proxy.url, `/ui/r/${repo}/_tags/v1`);
    assert.equal(page.status, 200);
    assert.deepEqual(historyDigests(page.text), [a.manifest.digest]);
    assert.deepEqual(putBackLinks(page.text), [], "no put-back on an immutable tag");
    const confirm = await uiGet(fx.proxy.url, `/ui/r/${repo}/_tags/v1/_undelete?digest=${a.manifest.digest}`);
    assert.equal(confirm.status, 403);
    assert.match(confirm.text, /data-reason="immutable"/);
    const forged = await postUndelete(fx.proxy.url, repo, "v1", {
      digest: a.manifest.digest,
      current: b.manifest.digest,
    });
    assert.equal(forged.status, 403, forged.text);
    assert.match(forged.text, /data-reason="immutable"/);
    assert.match(forged.text, /v1 is immutable and points at/);
    assert.equal((await manifestOf(fx.registry.url, repo, "v1"))?.digest, b.manifest.digest);
  });

  it("content gone (the tag's history purged): 410 saying so, nothing written", async () => {
    const repo = "ui/purged";
    const image = small();
    await pushImage(fx.proxy.url, repo, image, ["v1", "v2"]);
    assert.equal((await postDelete(fx.proxy.url, repo, "v1", image.manifest.digest)).status, 303);
    await fx.proxy.proxy.deps.history.purge(repo, "v1", "admin");
    const res = await postUndelete(fx.proxy.url, repo, "v1", { digest: image.manifest.digest, current: "" });
    assert.equal(res.status, 410, res.text);
    assert.match(res.text, /data-reason="purged"/);
    assert.match(res.text, /its content is gone/);
    assert.equal(await manifestOf(fx.registry.url, repo, "v1"), null);
  });
});

describe("web UI with the tag history off (history.windowMs 0)", () => {
  const fx = useRegistryAndProxy({ proxy: { history: { windowMs: 0 } } });

  it("the pages say the history is off, offer no put-back, and a put-back form changes nothing", async () => {
    const repo = "ui/off";
    const image = small();
    await pushImage(fx.proxy.url, repo, image, ["v1", "v2"]);
    const tag = await uiGet(fx.proxy.url, `/ui/r/${repo}/_tags/v1`);
    assert.equal(tag.status, 200);
    assert.equal(hooks(tag.text, "history-off", "class").length, 1);
    assert.deepEqual(historyDigests(tag.text), []);
    const del = await postDelete(fx.proxy.url, repo, "v1", image.manifest.digest);
    assert.equal(del.status, 303);
    const tags = await uiGet(fx.proxy.url, del.headers.location as string);
    assert.deepEqual(hooks(tags.text, "deleted-history-link", "href"), []);
    assert.deepEqual(hooks(tags.text, "repository-history-link", "href"), []);
    const gone = await uiGet(fx.proxy.url, `/ui/r/${repo}/_tags/v1`);
    assert.equal(gone.status, 404);
    assert.match(gone.text, /has no tag v1/);
    for (const path of [`/ui/r/${repo}/_history`, `/ui/r/${repo}/_tags/v1/_history`]) {
      const res = await uiGet(fx.proxy.url, path);
      assert.equal(res.status, 404, path);
      assert.equal(hooks(res.text, "history-off", "class").length, 1, path);
    }
    const put = await postUndelete(fx.proxy.url, repo, "v1", { digest: image.manifest.digest, current: "" });
    assert.equal(put.status, 404);
    assert.equal(hooks(put.text, "history-off", "class").length, 1);
    assert.equal(await manifestOf(fx.registry.url, repo, "v1"), null);
  });
});
