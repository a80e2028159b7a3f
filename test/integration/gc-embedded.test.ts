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

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", ...args],
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

  it("finds the proxy's admin listener, keeps old while the history holds it, frees it once purged, and the file goes at shutdown", async () => {
    const dataDir = join(home, "data");
    proxy = await spawnProxy({ UPSTREAM_URL: "", DATA_DIR: dataDir, LOG_LEVEL: "info" });
    const adminFile = join(dataDir, "proxy-address.json");
    assert.ok(existsSync(adminFile), "serve published where it listens");
    const seed = await seedGc(proxy.url, "emb/gc");

    // The tag history holds old's manifest (deleted a moment ago): gc keeps it.
    const held = await cli(["gc", "--apply", "--json"], { DATA_DIR: dataDir });
    assert.equal(held.code, 0, held.stderr);
    const heldDoc = JSON.parse(held.stdout) as {
      repositories: { name: string; unreachable: string[] }[];
      history: { held: number; keptManifests: number; keptBytes: number };
    };
    assert.deepEqual(heldDoc.repositories.find((r) => r.name === "emb/gc")?.unreachable ?? [], []);
    assert.equal(heldDoc.history.keptManifests, 1);
    assert.ok(heldDoc.history.keptBytes >= 6 * 1024 * 1024, `kept ${heldDoc.history.keptBytes}`);
    // `history purge` (no flag either: the published admin listener) lets the next gc reclaim it.
    const purge = await cli(["history", "purge", "emb/gc:old"], { DATA_DIR: dataDir });
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /^purged 2 entries of emb\/gc:old$/m, "its push and its delete");

    const run = await cli(["gc", "--apply", "--json"], { DATA_DIR: dataDir });
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
