/**
 * What real clients do with the read-only window's 503 (docs/gc.md "While the window is
 * closed", measured, not assumed): skopeo (also with --retry-times 3) and podman push
 * fail at once, writing nothing; the same command after the window succeeds. The docs say so.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "../helpers/http.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { podmanArgs } from "../helpers/podman.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function run(cmd: string, args: string[]): Promise<{ code: number; ms: number; output: string }> {
  const start = Date.now();
  return new Promise((res) =>
    execFile(cmd, args, { timeout: 120_000 }, (err, stdout, stderr) =>
      res({ code: err ? Number(err.code) : 0, ms: Date.now() - start, output: stdout + stderr }),
    ),
  );
}

describe("clients meeting gc's read-only window", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let admin: string;
  let host: string;
  let root: string;

  before(async () => {
    requireTools("skopeo", "podman");
    root = mkdtempSync(join(tmpdir(), "rcp-window-clients-"));
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { metrics: { port: 0 } });
    admin = proxy.proxy.metricsUrl()!;
    host = proxy.url.replace("http://", "");
    await pushImage(proxy.url, "window/src", makeImage({ layerCount: 1, layerSize: 4096 }), ["1"]);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function withWindow<T>(body: () => Promise<T>): Promise<T> {
    const res = await request("POST", `${admin}/admin/read-only`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ holder: "test", leaseMs: 60_000 }),
    });
    assert.equal(res.status, 200, res.text);
    const lease = res.json<{ lease: { id: string } }>().lease.id;
    try {
      return await body();
    } finally {
      assert.equal((await request("DELETE", `${admin}/admin/read-only/${lease}`)).status, 204);
    }
  }

  const tagsOf = async (repo: string) => (await request("GET", `${proxy.url}/v2/${repo}/tags/list`)).status;

  it("skopeo copy, even with --retry-times 3, fails at once with the 503 and writes nothing; after the window it copies", async () => {
    const copy = (dst: string, extra: string[] = []) =>
      run("skopeo", [
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        ...extra,
        `docker://${host}/window/src:1`,
        `docker://${host}/window/${dst}:1`,
      ]);
    await withWindow(async () => {
      for (const extra of [[], ["--retry-times", "3"]]) {
        const r = await copy("skopeo", extra);
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /503 Service Unavailable/);
        // At once: no retry waited out the window's Retry-After (up to 30 s).
        assert.ok(r.ms < 10_000, `${r.ms} ms`);
      }
      assert.equal(await tagsOf("window/skopeo"), 404);
    });
    const after = await copy("skopeo", ["--retry-times", "3"]);
    assert.equal(after.code, 0, after.output);
  });

  it("podman push fails at once (exit 125) with the 503 and writes nothing; after the window it pushes", async () => {
    const podman = podmanArgs(join(root, "podman"));
    const image = `${host}/window/src:1`;
    const pulled = await run("podman", [...podman, "pull", "--tls-verify=false", image]);
    assert.equal(pulled.code, 0, pulled.output);
    const push = () =>
      run("podman", [...podman, "push", "--tls-verify=false", image, `${host}/window/podman:1`]);
    await withWindow(async () => {
      const r = await push();
      assert.equal(r.code, 125, r.output);
      assert.match(r.output, /503 Service Unavailable/);
      assert.ok(r.ms < 10_000, `${r.ms} ms`);
      assert.equal(await tagsOf("window/podman"), 404);
    });
    const after = await push();
    assert.equal(after.code, 0, after.output);
  });

  it("docs/gc.md and docs/configuration.md say clients do not retry a 503, as measured here", () => {
    const gc = readFileSync(join(ROOT, "docs/gc.md"), "utf8");
    const configuration = readFileSync(join(ROOT, "docs/configuration.md"), "utf8");
    for (const text of [gc, configuration]) {
      assert.doesNotMatch(text, /retry a push that got 503|Clients \(docker, podman, skopeo\) retry a `503`/);
    }
    assert.match(gc, /skopeo 1\.9 \(also with `--retry-times`\) and podman 4\.3 fail the push at once/);
  });
});
