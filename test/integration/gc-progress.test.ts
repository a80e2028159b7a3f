/**
 * What `gc --apply` prints as a user runs it (a child process, the real
 * docker-registry 2.8 and its garbage-collect): phases and a summary on stderr,
 * garbage-collect's line per blob in the log file (on stderr with --verbose only),
 * --quiet leaving the summary, and a status line redrawn in place on a terminal
 * (a pseudo-terminal from util-linux's `script`) but never in a pipe.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gcApplyArgs } from "../helpers/gc.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

requireTools("script");

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
      { env: { PATH: process.env["PATH"] ?? "", TERM: "dumb" }, timeout: 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

const SUMMARY =
  /^gc: done in \d+\.\d s: 1 untagged manifests deleted, garbage-collect deleted (\d+) blobs of \1 eligible, \d+\.\d KiB freed$/m;

describe("gc --apply's progress and summary (real registry)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let dir: string;
  let args: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-gc-progress-"));
    registry = await startRegistry();
    proxy = await startProxy(registry.url, {
      metrics: { port: 0 },
      log: { level: "warn" },
      history: { windowMs: 0 },
    });
    args = gcApplyArgs(join(registry.dir, "config.yml"), proxy.proxy.metricsUrl()!, proxy.url);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One untagged manifest to collect (an image pushed under a tag, the tag deleted) beside a tagged one. */
  async function untagged(repo: string): Promise<void> {
    await pushImage(proxy.url, repo, makeImage({ layerCount: 1, layerSize: 1024 }), ["kept"]);
    await pushImage(proxy.url, repo, makeImage({ layerCount: 1, layerSize: 64 * 1024 }), ["gone"]);
    const del = await request("DELETE", `${proxy.url}/v2/${repo}/tags/gone`);
    assert.equal(del.status, 202);
  }
  const cli = (extra: string[]) =>
    run(process.execPath, ["--import", "tsx", "src/cli.ts", ...args, ...extra]);

  it("in a pipe: phase lines and a summary, garbage-collect's lines only in the log file", async () => {
    await untagged("progress/plain");
    const log = join(dir, "plain.log");
    const r = await cli(["--log", log]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^gc: entering the read-only window on /m);
    assert.match(r.stderr, /^gc: reading the storage under \S+$/m);
    assert.match(r.stderr, /^gc: read \d+ repositories: \d+ manifests, \d+ tags, 1 manifests untagged$/m);
    assert.match(r.stderr, /^gc: deleting 1 untagged manifests \(\d+\.\d KiB\) by digest through /m);
    assert.match(r.stderr, new RegExp(`^gc: running garbage-collect \\(its output: ${log}\\)$`, "m"));
    assert.match(r.stderr, SUMMARY);
    assert.match(r.stderr, new RegExp(`^gc: garbage-collect's output: ${log}$`, "m"));
    assert.doesNotMatch(r.stderr, /marking (blob|manifest)|Deleting blob|eligible for deletion:/);
    assert.ok(!r.stderr.includes("\r") && !r.stderr.includes("\u001b"), "no status line drawn in a pipe");
    const kept = readFileSync(log, "utf8");
    assert.match(kept, /progress\/plain: marking manifest sha256:/);
    assert.match(kept, /Deleting blob: /);
    assert.match(r.stdout, /^total: 1 untagged manifests, /m, "the report stays on stdout");
  });

  it("--verbose shows garbage-collect's lines on stderr as well", async () => {
    await untagged("progress/verbose");
    const r = await cli(["--verbose", "--log", join(dir, "verbose.log")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /progress\/verbose: marking manifest sha256:/);
    assert.match(r.stderr, /Deleting blob: /);
    assert.match(r.stderr, SUMMARY);
  });

  it("--quiet leaves the summary (and failures) only", async () => {
    await untagged("progress/quiet");
    const log = join(dir, "quiet.log");
    const r = await cli(["--quiet", "--log", log]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0]!, SUMMARY);
    assert.equal(lines[1], `gc: garbage-collect's output: ${log}`);
    assert.ok(existsSync(log));
  });

  it("a failing garbage-collect is a FAILED step, its last lines and a FAILED summary, with --quiet too", async () => {
    await untagged("progress/fails");
    const r = await cli(["--quiet", "--gc-command", "echo one; echo broken storage >&2; exit 3"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^gc: FAILED: registry garbage-collect \(without --delete-untagged\) \(exit 3\)$/m,
    );
    assert.match(r.stderr, /^gc: garbage-collect's last lines:\n {2}one\n {2}broken storage$/m);
    assert.match(r.stderr, /^gc: FAILED in \d+\.\d s: 1 untagged manifests deleted, /m);
  });

  it("on a terminal: a status line redrawn in place with the counts", async () => {
    await untagged("progress/tty");
    const command = [
      process.execPath,
      "--import",
      "tsx",
      "src/cli.ts",
      ...args,
      "--log",
      join(dir, "tty.log"),
    ]
      .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
      .join(" ");
    // script gives the command a pseudo-terminal and copies what it wrote to stdout.
    const r = await run("script", ["-qec", command, "/dev/null"]);
    assert.equal(r.code, 0, r.stdout);
    const shown = r.stdout.replaceAll("\r", "<CR>").replaceAll("\u001b", "<ESC>");
    assert.match(shown, /<CR><ESC>\[Kgc: reading the storage: \d+ repositories, \d+ manifests, \d+ tags \(/);
    assert.match(
      shown,
      /<CR><ESC>\[Kgc: deleting untagged manifests by digest: 1\/1 \(plan frees \d+\.\d KiB\)/,
    );
    assert.match(shown, /<CR><ESC>\[Kgc: garbage-collect (marking|deleting blobs): /);
    assert.match(r.stdout, /gc: done in \d+\.\d s: 1 untagged manifests deleted/);
    assert.doesNotMatch(r.stdout, /marking (blob|manifest) sha256/);
  });
});
