import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { exec, gcApplyArgs, gcOptions, runGcForTest, type Seed, seedGc } from "../helpers/gc.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushBlob } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "gc", ...args],
      { env: { PATH: process.env["PATH"] ?? "" }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Polls `check` until true; the deadline only catches a hang. */
async function until(check: () => Promise<boolean>, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met before the deadline");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("registry-compat-proxy gc as a child process", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let seed: Seed;
  let registryConfig: string;
  let admin: string;
  const children: ChildProcess[] = [];
  const readOnly = async () =>
    (await request("GET", `${admin}/admin/read-only`)).json<{ readOnly: boolean }>().readOnly;

  before(async () => {
    registry = await startRegistry();
    // gc's own mechanics: old's delete is not held by a tag history (history-gc.test.ts has that).
    proxy = await startProxy(registry.url, {
      metrics: { port: 0 },
      log: { level: "warn" },
      history: { windowMs: 0 },
    });
    admin = proxy.proxy.metricsUrl()!;
    registryConfig = join(registry.dir, "config.yml");
    seed = await seedGc(proxy.url, "cli/app");
  });
  after(async () => {
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, "SIGKILL");
    await proxy.stop();
    await registry.stop();
  });

  /**
   * `gc --apply` whose garbage-collect step hangs, in its own process group. The
   * step writes every 0.2 s, so it ends by itself (EPIPE) once gc is gone.
   */
  function hangingGc(leaseSeconds: number): ChildProcess {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli.ts",
        ...gcApplyArgs(registryConfig, admin, proxy.url),
        "--gc-command",
        "while :; do echo collecting; sleep 0.2; done",
        "--lease",
        String(leaseSeconds),
      ],
      { detached: true, stdio: "ignore" },
    );
    children.push(child);
    return child;
  }

  it("gc --json (dry run) prints the plan as one JSON document and exits 0", async () => {
    const { code, stdout, stderr } = await cli(["--json", "--registry-config", registryConfig]);
    assert.equal(code, 0, stderr);
    const doc = JSON.parse(stdout) as {
      dryRun: boolean;
      repositories: { name: string; unreachable: string[] }[];
    };
    assert.equal(doc.dryRun, true);
    assert.deepEqual(
      doc.repositories.filter((r) => r.unreachable.length > 0).map((r) => [r.name, r.unreachable]),
      [["cli/app", [seed.oldDigest]]],
    );
  });

  it("usage errors and a refused --apply exit 2", async () => {
    assert.equal((await cli(["--bogus"])).code, 2);
    const dir = mkdtempSync(join(tmpdir(), "rcp-gc-cache-"));
    try {
      const cached = join(dir, "config.yml");
      writeFileSync(
        cached,
        `storage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: ${dir}\n  delete:\n    enabled: true\n`,
      );
      const refused = await cli(["--apply", "--registry-config", cached, "--admin", admin]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /blobdescriptor is "inmemory".*--restart-command/s);
      assert.equal(await readOnly(), false, "refused before the window");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("SIGTERM during garbage-collect: the window is left at once and gc exits 1", async () => {
    const child = hangingGc(600);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await until(readOnly);
    // Deletes are done once garbage-collect (sleep) runs; a signal during either leaves the window.
    child.kill("SIGTERM");
    assert.equal(await exited, 1);
    assert.equal(await readOnly(), false);
    await pushBlob(proxy.url, "cli/app", makeImage({ layerCount: 1 }).layers[0]!);
  });

  it("gc killed mid-run (SIGKILL): writes are refused until its lease expires, then accepted", async () => {
    const child = hangingGc(2);
    await until(readOnly);
    process.kill(-child.pid!, "SIGKILL");
    const refused = await request("POST", `${proxy.url}/v2/cli/app/blobs/uploads/`);
    assert.ok(refused.status === 503 || refused.status === 202, String(refused.status));
    await until(async () => !(await readOnly()));
    await pushBlob(proxy.url, "cli/app", makeImage({ layerCount: 1 }).layers[0]!);
  });
});

describe("why gc never uses --delete-untagged: what it does to a multi-arch index on 2.8", () => {
  let seed: Seed;
  const work = mkdtempSync(join(tmpdir(), "rcp-gc-untagged-"));
  const fx = useRegistryAndProxy({ proxy: { log: { level: "warn" } } });
  before(async () => {
    seed = await seedGc(fx.proxy.url, "untagged/app");
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
  });

  it("gc's plan keeps multi's untagged children; garbage-collect --delete-untagged deletes them and multi no longer pulls", async () => {
    const registryConfig = join(fx.registry.dir, "config.yml");
    const { result } = await runGcForTest(gcOptions({ registryConfig }));
    const planned = result.plan.repositories.flatMap((r) => r.unreachable);
    for (const child of seed.childDigests)
      assert.ok(!planned.includes(child), "children of a tagged index are reachable");

    await exec("docker-registry", ["garbage-collect", "--delete-untagged", registryConfig]);
    const index = await request("GET", `${fx.proxy.url}/v2/untagged/app/manifests/multi`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(index.status, 200, "the tagged index still resolves");
    const child = await request("GET", `${fx.proxy.url}/v2/untagged/app/manifests/${seed.childDigests[0]}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(child.status, 404, "its untagged child is gone");
    const host = fx.proxy.url.replace(/^http:\/\//, "");
    await assert.rejects(
      exec("skopeo", [
        "copy",
        "--all",
        "--src-tls-verify=false",
        `docker://${host}/untagged/app:multi`,
        `oci:${join(work, "m")}:m`,
      ]),
    );
  });
});
