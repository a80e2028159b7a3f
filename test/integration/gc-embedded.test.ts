/**
 * `gc --apply` with `npm start`'s defaults: an embedded-mode `serve` publishes its
 * admin listener (an ephemeral loopback port) in the data dir, and gc run with no
 * flag but the same data dir finds the registry's config, the proxy and the window.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { seedGc } from "../helpers/gc.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES } from "../helpers/oci.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";

function gc(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "gc", "--apply", "--json"],
      { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 300_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

describe("gc --apply against an embedded-mode serve, no flags", () => {
  let proxy: ProxyProcess | undefined;
  const home = mkdtempSync(join(tmpdir(), "rcp-gc-embedded-"));
  after(async () => {
    proxy?.kill();
    await proxy?.exited;
    rmSync(home, { recursive: true, force: true });
  });

  it("finds the proxy's admin listener, deletes old's manifest, frees its bytes, and the file goes at shutdown", async () => {
    const dataDir = join(home, "data");
    proxy = await spawnProxy({ UPSTREAM_URL: "", DATA_DIR: dataDir, LOG_LEVEL: "info" });
    const adminFile = join(dataDir, "proxy-address.json");
    assert.ok(existsSync(adminFile), "serve published where it listens");
    const seed = await seedGc(proxy.url, "emb/gc");

    const run = await gc({ DATA_DIR: dataDir });
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as {
      repositories: { name: string; unreachable: string[]; freedBytes?: number }[];
    };
    const repo = doc.repositories.find((r) => r.name === "emb/gc");
    assert.deepEqual(repo?.unreachable, [seed.oldDigest]);
    assert.ok((repo?.freedBytes ?? 0) >= 6 * 1024 * 1024, `freed ${repo?.freedBytes}`);
    const accept = { accept: ALL_MANIFEST_TYPES };
    const gone = await request("HEAD", `${proxy.url}/v2/emb/gc/manifests/${seed.oldDigest}`, {
      headers: accept,
    });
    assert.equal(gone.status, 404);
    const kept = await request("HEAD", `${proxy.url}/v2/emb/gc/manifests/new`, { headers: accept });
    assert.equal(kept.status, 200);

    proxy.child.kill("SIGTERM");
    assert.equal(await proxy.exited, 0);
    proxy = undefined;
    assert.equal(existsSync(adminFile), false, "the address is withdrawn at shutdown");
  });
});
