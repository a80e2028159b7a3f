/**
 * `restore` against a registry with Basic auth (real docker-registry 2.8, htpasswd):
 * docs/tag-delete.md promises exit 6 when the credentials are missing or refused,
 * with nothing written, and exit 0 with the tag back once they are good.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { createHtpasswd, type Htpasswd } from "../helpers/htpasswd.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const ROOT = resolve(import.meta.dirname, "../..");
const REPO = "restore-auth/app";

function restore(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "restore", ...args],
      { cwd: ROOT, timeout: 120_000, env: { ...process.env, LOG_LEVEL: "silent" } },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, out: stdout + stderr }),
    );
  });
}

describe("restore against a registry with Basic auth", () => {
  let htpasswd: Htpasswd;
  let registry: TestRegistry;
  let proxy: TestProxy;

  before(async () => {
    htpasswd = createHtpasswd({ alice: "alice-Secret-1" });
    registry = await startRegistry({ htpasswdFile: htpasswd.file });
    proxy = await startProxy(registry.url, { log: { level: "warn" } });
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    htpasswd?.cleanup();
  });

  /** The digest `tag` points at, read with alice's credentials; null when absent. */
  async function digestOf(tag: string): Promise<string | null> {
    const res = await request("HEAD", `${registry.url}/v2/${REPO}/manifests/${tag}`, {
      headers: {
        authorization: htpasswd.basic("alice"),
        accept: "application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    if (res.status === 404) return null;
    assert.equal(res.status, 200);
    return String(res.headers["docker-content-digest"]);
  }

  it("restore without credentials or with a wrong password → exit 6, tag still absent; with alice's → exit 0, tag back", async () => {
    const image = makeImage({ layerCount: 1, layerSize: 64, docker: true });
    await pushImage(registry.url, REPO, image, ["old", "keep"], htpasswd.basic("alice"));
    const del = await request("DELETE", `${proxy.url}/v2/${REPO}/tags/old`, {
      headers: { authorization: htpasswd.basic("alice") },
    });
    assert.equal(del.status, 202, del.text);
    assert.equal(await digestOf("old"), null);

    const common = [
      "--repository",
      REPO,
      "--tag",
      "old",
      "--journal",
      proxy.config.delete.journalPath,
      "--upstream",
      registry.url,
    ];
    const none = await restore(common);
    assert.equal(none.code, 6, none.out);
    const wrong = await restore([...common, "--username", "alice", "--password", "wrong"]);
    assert.equal(wrong.code, 6, wrong.out);
    assert.equal(await digestOf("old"), null, "nothing was put back");

    const good = await restore([...common, "--username", "alice", "--password", "alice-Secret-1"]);
    assert.equal(good.code, 0, good.out);
    assert.equal(await digestOf("old"), image.manifest.digest);
    assert.equal(await digestOf("keep"), image.manifest.digest);
  });
});
