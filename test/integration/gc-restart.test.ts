/**
 * The cache trap, end to end: `gc --apply` as a child process against the real
 * docker-registry 2.8.2 with `storage.cache.blobdescriptor: inmemory` (Debian's
 * default config), behind the proxy.
 *
 * Without a restart the running registry keeps answering from its cache that the
 * blobs garbage-collect deleted exist: a later push of the same image skips them
 * (and its manifest's bytes), exits 0, and the image does not pull. With a
 * `--restart-command` that restarts the registry (here: a supervisor loop keeps it
 * on one loopback port, the command SIGTERMs it and waits until `/v2/` answers
 * again), the same push uploads them and pulls whole.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gcApplyArgs, httpGet, type RestartableRegistry, startRestartableRegistry } from "../helpers/gc.js";
import { request } from "../helpers/http.js";
import {
  ALL_MANIFEST_TYPES,
  assertLayoutHolds,
  type Image,
  makeImage,
  pushBlob,
  pushImage,
  sha256,
  writeOciLayout,
} from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { PATH: process.env["PATH"] ?? "" }, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The registry behind the cache: docker-registry with Debian's default blob descriptor cache. */
interface CachedSetup {
  registry: RestartableRegistry;
  proxy: TestProxy;
  admin: string;
  /** A temporary folder for skopeo's layouts. */
  work: string;
}

/**
 * For the enclosing describe: a restartable registry with blobdescriptor inmemory,
 * a proxy in front with its admin listener, and a work folder; all gone after it.
 */
function cachedSetup(): CachedSetup {
  const s = { work: mkdtempSync(join(tmpdir(), "rcp-gc-restart-work-")) } as CachedSetup;
  before(async () => {
    requireTools("skopeo");
    s.registry = await startRestartableRegistry({ cache: { blobdescriptor: "inmemory" } });
    // The cache trap: old's delete is not held by a tag history (history-gc.test.ts has that).
    s.proxy = await startProxy(s.registry.url, {
      metrics: { port: 0 },
      log: { level: "warn" },
      history: { windowMs: 0 },
    });
    s.admin = s.proxy.proxy.metricsUrl()!;
  });
  after(async () => {
    await s.proxy?.stop();
    await s.registry?.stop();
    rmSync(s.work, { recursive: true, force: true });
  });
  return s;
}

/** `gc --apply` through the CLI, as a user runs it. */
function gcApply(registry: RestartableRegistry, proxy: TestProxy, restartCommand: string): Promise<Exit> {
  return run(process.execPath, [
    "--import",
    "tsx",
    "src/cli.ts",
    ...gcApplyArgs(registry.configPath, proxy.proxy.metricsUrl()!, proxy.url),
    "--restart-command",
    restartCommand,
  ]);
}

/** An image tagged `old` through the proxy, then the tag deleted: gc's to collect. */
async function pushAndUntag(proxy: TestProxy, repo: string): Promise<Image> {
  const image = makeImage({ layerCount: 1, layerSize: 512 * 1024 });
  await pushImage(proxy.url, repo, image, ["old"]);
  const del = await request("DELETE", `${proxy.url}/v2/${repo}/tags/old`);
  assert.equal(del.status, 202, del.text);
  return image;
}

function blobFile(registry: RestartableRegistry, digest: string): string {
  const hex = digest.slice("sha256:".length);
  return join(registry.storage, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
}

/** `skopeo copy --debug` of `image` from an OCI layout to `repo:again` through the proxy. */
function pushAgain(proxy: TestProxy, work: string, repo: string, image: Image): Promise<Exit> {
  const layout = join(work, `${repo.replace("/", "-")}-push`);
  writeOciLayout(layout, image, "again");
  const host = proxy.url.replace(/^http:\/\//, "");
  return run("skopeo", [
    "--debug",
    "copy",
    "--dest-tls-verify=false",
    `oci:${layout}:again`,
    `docker://${host}/${repo}:again`,
  ]);
}

function pullAgain(proxy: TestProxy, work: string, repo: string): { layout: string; exit: Promise<Exit> } {
  const layout = join(work, `${repo.replace("/", "-")}-pull`);
  const host = proxy.url.replace(/^http:\/\//, "");
  const exit = run("skopeo", [
    "copy",
    "--src-tls-verify=false",
    `docker://${host}/${repo}:again`,
    `oci:${layout}:again`,
  ]);
  return { layout, exit };
}

/** The blob uploads a `skopeo --debug` push started. */
function uploadsStarted(debug: string): number {
  return debug.split("\n").filter((l) => /msg="POST \S+\/blobs\/uploads\/"/.test(l)).length;
}

const STEP_RESTART = "restart the registry (blob descriptor cache)";

async function readOnly(admin: string): Promise<boolean> {
  return (await request("GET", `${admin}/admin/read-only`)).json<{ readOnly: boolean }>().readOnly;
}

describe("the cache trap: gc --apply with blobdescriptor inmemory and no real restart", () => {
  const setup = cachedSetup();

  it("the registry keeps answering HEAD 200 for the collected blobs; the same image pushed again skips them, exits 0, and does not pull", async () => {
    const { registry, proxy, admin, work } = setup;
    const image = await pushAndUntag(proxy, "trap/app");
    const layer = image.layers[0]!.digest;
    const pid = registry.pid();

    // `true` as the restart command: gc's steps all pass, nothing restarts.
    const gc = await gcApply(registry, proxy, "true");
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /blob descriptor cache: inmemory/);
    assert.ok(gc.stdout.includes(`ok: ${STEP_RESTART} (exit 0)`), gc.stdout);
    assert.equal(registry.pid(), pid, "the same registry process still runs");
    for (const b of [image.layers[0]!, image.config, image.manifest])
      assert.ok(!existsSync(blobFile(registry, b.digest)), `${b.digest} collected from disk`);

    // Measured: HEAD answers 200 from the cache for the layer and the config; a GET
    // gets the registry's 200 head with no body and a closed connection, which the
    // proxy answers 502 (nothing was sent to the client yet).
    for (const b of [image.layers[0]!, image.config]) {
      assert.equal((await request("HEAD", `${proxy.url}/v2/trap/app/blobs/${b.digest}`)).status, 200);
      const get = await request("GET", `${proxy.url}/v2/trap/app/blobs/${b.digest}`);
      assert.equal(get.status, 502, get.text);
      assert.equal(get.json<{ errors: { code: string }[] }>().errors[0]!.code, "UNAVAILABLE");
    }

    const push = await pushAgain(proxy, work, "trap/app", image);
    assert.equal(push.code, 0, push.stderr);
    assert.ok(push.stderr.includes(`Skipping blob ${layer} (already present)`), push.stderr);
    assert.equal(uploadsStarted(push.stderr), 0, "no blob uploaded");
    // The manifest PUT is accepted, but its bytes were collected and the registry's
    // cache says they exist, so it links the tag to nothing.
    const manifest = await request("GET", `${proxy.url}/v2/trap/app/manifests/again`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(manifest.status, 404, manifest.text);
    assert.equal(manifest.json<{ errors: { code: string }[] }>().errors[0]!.code, "MANIFEST_UNKNOWN");
    const pull = await pullAgain(proxy, work, "trap/app").exit;
    assert.notEqual(pull.code, 0);
    assert.match(pull.stderr, /manifest unknown/);

    // A restart empties the cache: the registry then says what is on disk.
    const restart = await run("sh", [registry.restartCommand]);
    assert.equal(restart.code, 0, restart.stderr);
    assert.notEqual(registry.pid(), pid);
    assert.equal((await request("HEAD", `${proxy.url}/v2/trap/app/blobs/${layer}`)).status, 404);
    assert.equal(await readOnly(admin), false);
  });
});

describe("gc --apply --restart-command on a registry with blobdescriptor inmemory", () => {
  const setup = cachedSetup();

  it("restarts the registry after garbage-collect, leaves the window; the same image pushed again uploads every blob and pulls whole", async () => {
    const { registry, proxy, admin, work } = setup;
    const image = await pushAndUntag(proxy, "whole/app");
    const pid = registry.pid();

    const gc = await gcApply(registry, proxy, registry.restartCommand);
    assert.equal(gc.code, 0, gc.stderr);
    const lines = gc.stdout.split("\n").map((l) => l.trim());
    assert.ok(lines.includes(`ok: ${STEP_RESTART} (exit 0)`), gc.stdout);
    assert.ok(lines.includes("ok: leave the read-only window"), gc.stdout);
    assert.match(gc.stderr, new RegExp(`registry restarted: pid ${pid} -> ${registry.pid()}`));
    assert.notEqual(registry.pid(), pid, "a new registry process");
    assert.equal(await readOnly(admin), false);

    // Measured: the new registry answers 404 for what garbage-collect deleted.
    for (const b of [image.layers[0]!, image.config]) {
      assert.ok(!existsSync(blobFile(registry, b.digest)));
      assert.equal((await request("HEAD", `${proxy.url}/v2/whole/app/blobs/${b.digest}`)).status, 404);
    }

    const push = await pushAgain(proxy, work, "whole/app", image);
    assert.equal(push.code, 0, push.stderr);
    assert.equal(uploadsStarted(push.stderr), 2, "the layer and the config uploaded again");
    const manifest = await request("GET", `${proxy.url}/v2/whole/app/manifests/again`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(manifest.status, 200, manifest.text);
    assert.equal(sha256(manifest.body), image.manifest.digest);
    for (const b of [image.layers[0]!, image.config]) {
      const get = await request("GET", `${proxy.url}/v2/whole/app/blobs/${b.digest}`);
      assert.equal(get.status, 200, get.text);
      assert.equal(sha256(get.body), b.digest);
    }
    const pull = pullAgain(proxy, work, "whole/app");
    const pulled = await pull.exit;
    assert.equal(pulled.code, 0, pulled.stderr);
    assertLayoutHolds(pull.layout, "again", image);
  });

  it("a failing --restart-command: gc exits 1, reports the failed restart, and still leaves the window", async () => {
    const { registry, proxy, admin } = setup;
    await pushAndUntag(proxy, "failing/app");
    const pid = registry.pid();
    // The command reads the window first: it runs while gc holds it.
    const gc = await gcApply(
      registry,
      proxy,
      `${httpGet(`${admin}/admin/read-only`)}; echo; echo cannot restart >&2; exit 3`,
    );
    assert.equal(gc.code, 1, gc.stderr);
    const lines = gc.stdout.split("\n").map((l) => l.trim());
    assert.ok(lines.includes(`FAILED: ${STEP_RESTART} (exit 3)`), gc.stdout);
    assert.ok(lines.includes("ok: leave the read-only window"), gc.stdout);
    assert.ok(lines.includes("ok: registry garbage-collect (without --delete-untagged) (exit 0)"), gc.stdout);
    assert.match(gc.stderr, /"readOnly":true/);
    assert.match(gc.stderr, /cannot restart/);
    assert.equal(registry.pid(), pid);
    assert.equal(await readOnly(admin), false);
    await pushBlob(proxy.url, "failing/app", makeImage({ layerCount: 1 }).layers[0]!);
  });
});
