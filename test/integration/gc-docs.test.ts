/**
 * The `node dist/cli.js gc` commands of docs/gc.md ("Running it") run as written, each
 * in the set-up its comment names, from the folder the proxy runs in: only
 * `node dist/cli.js` is this checkout's CLI (src/cli.ts) and the registry's config and
 * admin port are this test's. Each `--apply` exits 0 and collects what a tag delete left.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { seedGc } from "../helpers/gc.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const ROOT = resolve(import.meta.dirname, "../..");
/**
 * The proxies under the docs' commands run without the tag history's window: these tests
 * are about gc's commands and what they collect; the seed's deleted tag would otherwise be
 * held for an undelete (history-gc.test.ts has that).
 */
const NO_HISTORY = "0";
const TSX = pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;

/** The `node dist/cli.js gc ...` lines of the "Running it" block of docs/gc.md. */
function documentedCommands(): string[] {
  const doc = readFileSync(join(ROOT, "docs/gc.md"), "utf8");
  const section = doc.slice(doc.indexOf("### Running it"));
  const block = section.slice(
    section.indexOf("```sh") + 5,
    section.indexOf("```", section.indexOf("```sh") + 5),
  );
  return block.split("\n").filter((l) => l.startsWith("node dist/cli.js gc"));
}

/** Runs one documented line in `cwd`, `node dist/cli.js` being this checkout's CLI. */
function run(line: string, cwd: string, replace: Record<string, string> = {}) {
  let args = line.split(/\s+/).slice(2);
  args = args.map((a) => replace[a] ?? a);
  return new Promise<{ code: number; out: string }>((done) => {
    execFile(
      process.execPath,
      ["--import", TSX, join(ROOT, "src/cli.ts"), ...args],
      { cwd, env: { PATH: process.env["PATH"] ?? "" }, timeout: 180_000 },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, out: stdout + stderr }),
    );
  });
}

describe("docs/gc.md: the gc commands run as written", () => {
  const lines = documentedCommands();
  const dirs: string[] = [];
  const processes: ProxyProcess[] = [];
  const proxies: TestProxy[] = [];
  const registries: TestRegistry[] = [];
  const folder = () => {
    const d = mkdtempSync(join(tmpdir(), "rcp-gc-docs-"));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const p of processes) {
      p.kill();
      await p.exited;
    }
    for (const p of proxies) await p.stop();
    for (const r of registries) await r.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("documents the four commands: dry run and --apply (embedded), --registry-config, --admin", () => {
    assert.deepEqual(lines, [
      "node dist/cli.js gc",
      "node dist/cli.js gc --apply",
      "node dist/cli.js gc --apply --registry-config /etc/docker/registry/config.yml",
      "node dist/cli.js gc --apply --registry-config /etc/docker/registry/config.yml --admin http://127.0.0.1:9102",
    ]);
  });

  it("embedded mode (npm start's ./data): `gc` reports, `gc --apply` collects", async () => {
    const cwd = folder();
    const proxy = await spawnProxy({
      UPSTREAM_URL: "",
      DATA_DIR: join(cwd, "data"),
      LOG_LEVEL: "info",
      HISTORY_WINDOW_MS: NO_HISTORY,
    });
    processes.push(proxy);
    const seed = await seedGc(proxy.url, "docs/embedded");
    const dry = await run(lines[0]!, cwd);
    assert.equal(dry.code, 0, dry.out);
    assert.match(dry.out, new RegExp(`docs/embedded@${seed.oldDigest}`));
    const apply = await run(lines[1]!, cwd);
    assert.equal(apply.code, 0, apply.out);
    assert.match(apply.out, /total: 1 untagged manifests, \d+(\.\d+)? MiB freed/);
  });

  it("in front of a registry (UPSTREAM_URL=... npm start): --registry-config, the admin listener from ./data", async () => {
    const cwd = folder();
    const registry = await startRegistry();
    registries.push(registry);
    const proxy = await spawnProxy({
      UPSTREAM_URL: registry.url,
      DATA_DIR: join(cwd, "data"),
      LOG_LEVEL: "info",
      HISTORY_WINDOW_MS: NO_HISTORY,
    });
    processes.push(proxy);
    await seedGc(proxy.url, "docs/external");
    const apply = await run(lines[2]!, cwd, {
      "/etc/docker/registry/config.yml": join(registry.dir, "config.yml"),
    });
    assert.equal(apply.code, 0, apply.out);
    assert.match(apply.out, /total: 1 untagged manifests, \d+(\.\d+)? MiB freed/);
  });

  it("a proxy with metrics.port: --registry-config and --admin", async () => {
    const registry = await startRegistry();
    registries.push(registry);
    const proxy = await startProxy(registry.url, {
      metrics: { port: 0 },
      log: { level: "warn" },
      history: { windowMs: 0 },
    });
    proxies.push(proxy);
    await seedGc(proxy.url, "docs/admin");
    const apply = await run(lines[3]!, folder(), {
      "/etc/docker/registry/config.yml": join(registry.dir, "config.yml"),
      "http://127.0.0.1:9102": proxy.proxy.metricsUrl()!,
    });
    assert.equal(apply.code, 0, apply.out);
    assert.match(apply.out, /total: 1 untagged manifests, \d+(\.\d+)? MiB freed/);
  });
});
