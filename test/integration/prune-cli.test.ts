import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { closedPort } from "../helpers/net.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { tagsOf } from "../helpers/prune-run.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

describe("registry-compat-proxy prune as a child process", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let home: string;

  /** Runs the CLI with a clean environment (no real auth files). */
  function cli(args: string[], env: Record<string, string> = {}): Promise<Exit> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "src/cli.ts", "prune", ...args],
        { env: { PATH: process.env["PATH"] ?? "", HOME: home, ...env }, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "rcp-prune-home-"));
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { log: { level: "warn" } });
    for (const [i, tag] of ["one", "two", "three"].entries()) {
      const created = `2024-02-0${i + 1}T00:00:00Z`;
      await pushImage(proxy.url, "cli/app", makeImage({ created, layerCount: 1, layerSize: 32 }), [tag]);
    }
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("exits 2 with a message on usage errors", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--keep", "1"], /--registry URL is required/],
      [["--registry", proxy.url], /give at least one of --keep N, --older-than DURATION or --match PATTERN/],
      [["--registry", proxy.url, "--keep", "many"], /--keep must be a whole number/],
      [["--registry", proxy.url, "--older-than", "30"], /--older-than: invalid duration "30"/],
      [["--registry", proxy.url, "--keep", "1", "--apply", "--dry-run"], /contradict/],
      [["--registry", proxy.url, "--keep", "1", "--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    }
  });

  it("dry run prints a table of what it would delete and why, exits 0 and deletes nothing", async () => {
    const r = await cli(["--registry", proxy.url, "--repo", "cli/app", "--keep", "1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cli\/app: 3 tags, 2 would delete, 1 kept$/m);
    assert.match(r.stdout, /^\s+TAG\s+DIGEST\s+CREATED \(UTC\)\s+AGE\s+ACTION\s+REASON$/m);
    assert.match(
      r.stdout,
      /^\s+two\s+sha256:[0-9a-f]{12}\s+2024-02-02 00:00\s+\S+( \S+)?\s+would delete\s+#2 by age/m,
    );
    assert.match(r.stdout, /^\s+one\s+.*would delete\s+#3 by age, not among the 1 newest$/m);
    assert.doesNotMatch(r.stdout, /^\s+three\s/m, "kept tags are listed only with --show-kept");
    assert.match(
      r.stdout,
      /summary \(dry run, nothing deleted\): 1 repository, 3 tags: 1 kept, 2 would be deleted/,
    );
    assert.match(r.stderr, /^prune: inspecting 3\/3 /m, "plain progress lines when stderr is not a terminal");
    assert.deepEqual(await tagsOf(proxy.url, "cli/app"), ["one", "three", "two"]);
  });

  it("--apply against a registry that cannot delete one tag fails every tag with a hint, exit 1", async () => {
    const r = await cli([
      "--registry",
      registry.url,
      "--repo",
      "cli/app",
      "--keep",
      "1",
      "--apply",
      "--json",
    ]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const results = lines.filter((l) => l["type"] === "result");
    assert.equal(results.length, 2);
    for (const l of results) {
      assert.equal(l["result"], "failed");
      assert.match(l["reason"] as string, /^400 DIGEST_INVALID.*point --registry at registry-compat-proxy/);
    }
    const summary = lines.at(-1)!;
    assert.equal(summary["type"], "summary");
    assert.equal(summary["failed"], 2);
    assert.equal(summary["exitCode"], 1);
    assert.deepEqual(await tagsOf(proxy.url, "cli/app"), ["one", "three", "two"]);
  });

  it("--apply --json through the proxy deletes the selected tags, exit 0", async () => {
    const r = await cli(["--registry", proxy.url, "--repo", "cli/app", "--keep", "1", "--apply", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    assert.equal(summary["deleted"], 2);
    assert.match(r.stderr, /^prune: deleting 2\/2 deleted cli\/app:/m);
    assert.deepEqual(await tagsOf(proxy.url, "cli/app"), ["three"]);
  });

  it("a --repo the registry does not know (a typo) is an error naming it, exit 1; the others are pruned", async () => {
    const r = await cli(["--registry", proxy.url, "--repo", "cli/ap", "--repo", "cli/app", "--keep", "5"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^cli\/ap: not pruned: repository not found \(404 NAME_UNKNOWN\)$/m);
    assert.match(r.stdout, /^cli\/app: \d+ tags?\b/m);
  });

  it("stops with exit 1 when the registry cannot be reached", async () => {
    const closed = await closedPort();
    const r = await cli(["--registry", `http://127.0.0.1:${closed}`, "--keep", "1"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`prune: stopped: GET http://127\\.0\\.0\\.1:${closed}/v2/_catalog: ECONNREFUSED`),
    );
  });
});
