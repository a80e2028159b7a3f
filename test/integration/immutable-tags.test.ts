import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { type Image, makeImage, pushImage, putManifest, writeOciLayout } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import type { TestProxy } from "../helpers/proxy.js";
import { digestOf, pullByDigest, runPruneForTest } from "../helpers/prune-run.js";
import { errorCode, type ManifestKind, manifestOf, pushKind, tagsOf } from "../helpers/tag-delete.js";
import { ACCESS_LOG, forwardedDuring } from "../helpers/upstream-watch.js";

const exec = promisify(execFile);
const RULES = ["v*", "scoped/app:stable"];

/** Runs skopeo; resolves with its exit status and output instead of throwing. */
async function skopeo(args: string[]): Promise<{ ok: boolean; stderr: string; stdout: string }> {
  try {
    const r = await exec("skopeo", args);
    return { ok: true, stderr: r.stderr, stdout: r.stdout };
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    return { ok: false, stderr: e.stderr ?? "", stdout: e.stdout ?? "" };
  }
}

function detailOf(res: { json<T>(): T }): Record<string, unknown> {
  return res.json<{ errors: Array<{ detail: Record<string, unknown> }> }>().errors[0]!.detail;
}

async function refusals(proxy: TestProxy, operation: string, rule = "v*"): Promise<number> {
  const res = await request("GET", `${proxy.url}/metrics`);
  return sampleValue(parseMetrics(res.text), "rcp_immutable_tag_refusals_total", { rule, operation }) ?? 0;
}

describe("immutable tags through the proxy, in front of a real docker-registry 2.8", () => {
  let dir: string;
  let host: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-immutable-"));
  });
  const fx = useRegistryAndProxy(() => ({
    registry: { extra: ACCESS_LOG },
    proxy: {
      tags: { immutable: RULES },
      delete: { journalPath: join(dir, "journal.jsonl") },
    },
  }));
  before(async () => {
    host = fx.proxy.url.replace("http://", "");
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Pushes `image` from an OCI layout with skopeo to `ref` (repo:tag) through the proxy. */
  function skopeoPush(image: Image, ref: string, layout: string) {
    writeOciLayout(join(dir, layout), image);
    return skopeo([
      "copy",
      "--dest-tls-verify=false",
      `oci:${join(dir, layout)}:latest`,
      `docker://${host}/${ref}`,
    ]);
  }

  it("skopeo: v1.0 pushed, re-pushed with the same digest, then another image refused; v1.0 keeps its digest", async () => {
    const first = makeImage({ layerCount: 1, layerSize: 256 });
    const pushed = await skopeoPush(first, "imm/skopeo:v1.0", "first");
    assert.ok(pushed.ok, pushed.stderr);
    const again = await skopeoPush(first, "imm/skopeo:v1.0", "first");
    assert.ok(again.ok, `an identical re-push is allowed: ${again.stderr}`);
    const before = await refusals(fx.proxy, "put");

    const other = await skopeoPush(makeImage({ layerCount: 1, layerSize: 256 }), "imm/skopeo:v1.0", "other");
    assert.equal(other.ok, false);
    // What the user sees: skopeo prints the registry's code and message.
    assert.match(
      other.stderr,
      /denied: tag v1\.0 is immutable \(rule v\*\): it points at sha256:[0-9a-f]{64}/,
    );
    assert.equal(await digestOf(fx.registry.url, "imm/skopeo", "v1.0"), first.manifest.digest);
    assert.equal(await refusals(fx.proxy, "put"), before + 1);
    const line = fx.proxy
      .logs()
      .find((l) => l.includes("immutable tag: write refused") && l.includes("imm/skopeo"));
    assert.ok(line, "the refusal is logged");
    assert.equal(JSON.parse(line).rule, "v*");
  });

  for (const kind of ["oci-manifest", "docker-v2", "oci-index"] as ManifestKind[]) {
    it(`PUT ${kind} to v1.0: the same bytes again are 201, another manifest is 403 DENIED naming the tag and rule`, async () => {
      const repo = `imm/${kind}`;
      const pushed = await pushKind(fx.proxy.url, repo, kind, ["v1.0"]);
      const again = await request("PUT", `${fx.proxy.url}/v2/${repo}/manifests/v1.0`, {
        headers: { "content-type": pushed.mediaType },
        body: pushed.bytes,
      });
      assert.equal(again.status, 201, again.text);
      assert.equal(again.headers["docker-content-digest"], pushed.digest);

      const other = makeImage({ layerCount: 1, layerSize: 64, docker: kind === "docker-v2" });
      await pushImage(fx.proxy.url, repo, other, []);
      const moved = await request("PUT", `${fx.proxy.url}/v2/${repo}/manifests/v1.0`, {
        headers: { "content-type": other.mediaType },
        body: other.manifest.bytes,
      });
      assert.equal(moved.status, 403, moved.text);
      assert.equal(errorCode(moved), "DENIED");
      assert.deepEqual(detailOf(moved), {
        name: repo,
        tag: "v1.0",
        digest: pushed.digest,
        pushed: other.manifest.digest,
        rule: "v*",
        immutable: true,
      });
      const now = await manifestOf(fx.registry.url, repo, "v1.0");
      assert.equal(now?.digest, pushed.digest);
      assert.deepEqual(now?.bytes, pushed.bytes);
    });
  }

  it("tag delete (both endpoints) and digest delete of v1.0 are refused; v1.0 still pulls", async () => {
    const repo = "imm/keep";
    const image = makeImage({ layerCount: 1, layerSize: 128 });
    const digest = await pushImage(fx.proxy.url, repo, image, ["v1.0"]);
    const before = {
      tag: await refusals(fx.proxy, "tag_delete"),
      digest: await refusals(fx.proxy, "digest_delete"),
    };

    for (const path of [`tags/v1.0`, `manifests/v1.0`]) {
      const res = await request("DELETE", `${fx.proxy.url}/v2/${repo}/${path}`);
      assert.equal(res.status, 403, `${path}: ${res.text}`);
      assert.equal(errorCode(res), "DENIED");
      assert.match(res.text, /tag v1\.0 is immutable \(rule v\*\) and cannot be deleted/);
    }
    const byDigest = await request("DELETE", `${fx.proxy.url}/v2/${repo}/manifests/${digest}`);
    assert.equal(byDigest.status, 403, byDigest.text);
    assert.equal(detailOf(byDigest)["tag"], "v1.0");
    // skopeo delete resolves the tag to its digest and deletes that: refused, and it says why.
    const del = await skopeo(["delete", "--tls-verify=false", `docker://${host}/${repo}:v1.0`]);
    assert.equal(del.ok, false);
    // skopeo delete prints the error body as it came, with the status.
    assert.match(del.stderr, /is tagged v1\.0, an immutable tag \(rule v\*\).*\(403 Forbidden\)/);

    assert.equal(await refusals(fx.proxy, "tag_delete"), before.tag + 2);
    assert.equal(await refusals(fx.proxy, "digest_delete"), before.digest + 2);
    assert.deepEqual(await tagsOf(fx.registry.url, repo), ["v1.0"]);
    const pull = await skopeo([
      "copy",
      "--src-tls-verify=false",
      `docker://${host}/${repo}:v1.0`,
      `oci:${join(dir, "pulled")}:v1.0`,
    ]);
    assert.ok(pull.ok, pull.stderr);
    await pullByDigest(fx.proxy.url, repo, digest);
  });

  it("a mutable tag in the same repository moves and is deleted freely; so is a digest no immutable tag names", async () => {
    const repo = "imm/mixed";
    await pushImage(fx.proxy.url, repo, makeImage({ layerCount: 1, layerSize: 64 }), ["v1.0", "latest"]);
    const next = makeImage({ layerCount: 1, layerSize: 64 });
    const nextDigest = await pushImage(fx.proxy.url, repo, next, ["latest"]);
    assert.equal(await digestOf(fx.registry.url, repo, "latest"), nextDigest);
    const del = await request("DELETE", `${fx.proxy.url}/v2/${repo}/tags/latest`);
    assert.equal(del.status, 202, del.text);
    assert.deepEqual(await tagsOf(fx.registry.url, repo), ["v1.0"]);
    // The manifest `latest` named before is untagged now: its digest may go.
    const byDigest = await request("DELETE", `${fx.proxy.url}/v2/${repo}/manifests/${nextDigest}`);
    assert.equal(byDigest.status, 202, byDigest.text);
  });

  it("a repository-scoped rule covers its repository only", async () => {
    const scoped = await pushKind(fx.proxy.url, "scoped/app", "oci-manifest", ["stable"]);
    const freeOther = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(fx.proxy.url, "scoped/app", freeOther, []);
    const refused = await request("PUT", `${fx.proxy.url}/v2/scoped/app/manifests/stable`, {
      headers: { "content-type": freeOther.mediaType },
      body: freeOther.manifest.bytes,
    });
    assert.equal(refused.status, 403);
    assert.equal(detailOf(refused)["rule"], "scoped/app:stable");
    assert.equal(await digestOf(fx.registry.url, "scoped/app", "stable"), scoped.digest);

    // `stable` elsewhere is an ordinary tag: it moves and is deleted.
    await pushImage(fx.proxy.url, "other/app", makeImage({ layerCount: 1, layerSize: 64 }), ["stable"]);
    const moved = await pushImage(fx.proxy.url, "other/app", makeImage({ layerCount: 1, layerSize: 64 }), [
      "stable",
    ]);
    assert.equal(await digestOf(fx.registry.url, "other/app", "stable"), moved);
    const del = await request("DELETE", `${fx.proxy.url}/v2/other/app/manifests/stable`);
    assert.equal(del.status, 202, del.text);
  });

  it("concurrent pushes of one new immutable tag: one digest wins and stays", async () => {
    const repo = "imm/race";
    const images = Array.from({ length: 6 }, () => makeImage({ layerCount: 1, layerSize: 64 }));
    for (const image of images) await pushImage(fx.proxy.url, repo, image, []);
    const answers = await Promise.all(
      images.map((image) =>
        request("PUT", `${fx.proxy.url}/v2/${repo}/manifests/v2.0`, {
          headers: { "content-type": image.mediaType },
          body: image.manifest.bytes,
        }),
      ),
    );
    const winners = answers.flatMap((a, i) => (a.status === 201 ? [images[i]!.manifest.digest] : []));
    assert.equal(winners.length, 1, answers.map((a) => a.status).join(","));
    assert.ok(answers.every((a) => a.status === 201 || a.status === 403));
    for (const a of answers.filter((x) => x.status === 403)) assert.equal(detailOf(a)["digest"], winners[0]);
    assert.equal(await digestOf(fx.registry.url, repo, "v2.0"), winners[0]);
    // And a later push of a loser is still refused: the winner stays.
    const late = images.find((i) => i.manifest.digest !== winners[0])!;
    const again = await request("PUT", `${fx.proxy.url}/v2/${repo}/manifests/v2.0`, {
      headers: { "content-type": late.mediaType },
      body: late.manifest.bytes,
    });
    assert.equal(again.status, 403);
    assert.equal(await digestOf(fx.registry.url, repo, "v2.0"), winners[0]);
  });

  it("cost: one manifest HEAD per PUT of a matching tag (shared with the tag history), the history's one for other tags", async () => {
    const repo = "imm/cost";
    const image = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(fx.proxy.url, repo, image, []);
    const put = (tag: string) =>
      request("PUT", `${fx.proxy.url}/v2/${repo}/manifests/${tag}`, {
        headers: { "content-type": image.mediaType },
        body: image.manifest.bytes,
      });
    const onImmutable = await forwardedDuring(fx.registry, fx.proxy.url, async () => {
      assert.equal((await put("v3.0")).status, 201);
    });
    assert.deepEqual(onImmutable, [`HEAD /v2/${repo}/manifests/v3.0`, `PUT /v2/${repo}/manifests/v3.0`]);
    const onMutable = await forwardedDuring(fx.registry, fx.proxy.url, async () => {
      assert.equal((await put("edge")).status, 201);
    });
    // The guard adds nothing; the tag history (on by default) learns what the tag held.
    assert.deepEqual(onMutable, [`HEAD /v2/${repo}/manifests/edge`, `PUT /v2/${repo}/manifests/edge`]);
    const onDelete = await forwardedDuring(fx.registry, fx.proxy.url, async () => {
      assert.equal((await request("DELETE", `${fx.proxy.url}/v2/${repo}/tags/v3.0`)).status, 403);
    });
    assert.deepEqual(onDelete, [], "a tag delete is refused by the rule alone");
  });

  it("prune --apply --keep 0 leaves immutable tags in place and lists them as skipped", async () => {
    const repo = "imm/prune";
    await pushImage(fx.proxy.url, repo, makeImage({ layerCount: 1, layerSize: 64 }), ["v1", "v2"]);
    await pushImage(fx.proxy.url, repo, makeImage({ layerCount: 1, layerSize: 64 }), ["nightly", "edge"]);
    const run = await runPruneForTest(fx.proxy.url, { repos: [repo], keep: "0", apply: true });
    assert.deepEqual(await tagsOf(fx.registry.url, repo), ["v1", "v2"]);
    const skipped = run.lines.filter((l) => l["type"] === "result" && l["result"] === "skipped");
    assert.deepEqual(skipped.map((l) => [l["tag"], l["reason"], l["detail"]]).sort(), [
      ["v1", "immutable tag", "rule v*"],
      ["v2", "immutable tag", "rule v*"],
    ]);
    assert.equal(run.run.exitCode, 0, "a skipped immutable tag is not a failure");
    const text = await runPruneForTest(fx.proxy.url, { repos: [repo], keep: "0", apply: true, json: false });
    assert.match(text.text, /skipped 2: 2 immutable tag/);
  });
});

describe("immutable tags with oci.referrers off", () => {
  const fx = useRegistryAndProxy({ proxy: { tags: { immutable: ["v*"] }, oci: { referrers: false } } });

  it("PUT to an immutable tag and DELETE by digest are still guarded", async () => {
    const repo = "plain/app";
    const first = makeImage({ layerCount: 1, layerSize: 64 });
    const digest = await pushImage(fx.proxy.url, repo, first, ["v1", "latest"]);
    const other = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(fx.proxy.url, repo, other, []);
    const moved = await putManifest(fx.proxy.url, repo, "latest", other.manifest.bytes, other.mediaType);
    assert.equal(moved, other.manifest.digest);
    const refused = await request("PUT", `${fx.proxy.url}/v2/${repo}/manifests/v1`, {
      headers: { "content-type": other.mediaType },
      body: other.manifest.bytes,
    });
    assert.equal(refused.status, 403);
    const del = await request("DELETE", `${fx.proxy.url}/v2/${repo}/manifests/${digest}`);
    assert.equal(del.status, 403);
    assert.equal(await digestOf(fx.registry.url, repo, "v1"), digest);
  });
});
