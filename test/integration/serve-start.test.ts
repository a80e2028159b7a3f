/**
 * `serve` and `restore` as a user runs them: relative paths resolved once and
 * shown absolute, a failed start or a killed proxy that leaves no embedded registry behind, a
 * journal file that does not exist told apart from an entry that does not.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { alive, gone } from "../helpers/pids.js";
import { spawnProxy } from "../helpers/proxy-process.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TSX = join(ROOT, "node_modules", "tsx", "dist", "esm", "index.mjs");
const CLI = join(ROOT, "src", "cli.ts");

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI run from `cwd` (not the project), with only the given environment. */
function cli(cwd: string, args: string[], env: Record<string, string>): Promise<Exit> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      ["--import", TSX, CLI, ...args],
      { cwd, env: { PATH: process.env["PATH"] ?? "", LOG_FORMAT: "json", ...env } },
      (err, stdout, stderr) => res({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("serve and restore from another working directory", () => {
  let cwd: string;
  let busy: net.Server;
  let busyPort: number;

  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), "rcp-cwd-"));
    busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    busyPort = (busy.address() as net.AddressInfo).port;
  });
  after(async () => {
    await new Promise((r) => busy.close(r));
    rmSync(cwd, { recursive: true, force: true });
  });

  it("embedded mode on a busy port: exits 1 with EADDRINUSE and stops the docker-registry it started; paths logged absolute", async () => {
    const r = await cli(cwd, ["serve"], {
      HOST: "127.0.0.1",
      PORT: String(busyPort),
      DATA_DIR: "state",
      DELETE_JOURNAL: "state/journal.jsonl",
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /EADDRINUSE/);
    const lines = logLines(r.stdout);
    const journal = lines.find((l) => l["msg"] === "tag delete journal");
    assert.equal(journal?.["journal"], join(cwd, "state", "journal.jsonl"));
    const started = lines.find((l) => l["msg"] === "embedded docker-registry started");
    assert.ok(started, r.stdout);
    assert.equal(started["storage"], join(cwd, "state", "registry", "storage"));
    const pid = started["pid"] as number;
    assert.ok(
      lines.some((l) => l["msg"] === "embedded docker-registry stopped"),
      r.stdout,
    );
    // Gone, or at worst a zombie about to be reaped by init: wait for that.
    assert.ok(await gone(pid), `docker-registry ${pid} is still running`);
  });

  it("a journal the user cannot create stops serve before anything starts, naming the path and the setting", async () => {
    writeFileSync(join(cwd, "a-file"), "");
    const r = await cli(cwd, ["serve"], { PORT: "0", DELETE_JOURNAL: "a-file/journal.jsonl" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`tag delete journal ${join(cwd, "a-file", "journal.jsonl")} cannot be written`),
    );
    assert.match(r.stderr, /delete\.journalPath \(env DELETE_JOURNAL\)/);
    assert.ok(!logLines(r.stdout).some((l) => l["msg"] === "embedded docker-registry started"));
  });

  it("restore: a missing journal file is named with its absolute path; an existing one without the tag says no entry", async () => {
    const missing = await cli(
      cwd,
      ["restore", "--repository", "demo/sk", "--tag", "c", "--journal", "nope.jsonl"],
      {},
    );
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, new RegExp(`journal file not found: ${join(cwd, "nope.jsonl")}`));

    writeFileSync(join(cwd, "empty.jsonl"), "");
    const none = await cli(
      cwd,
      ["restore", "--repository", "demo/sk", "--tag", "c", "--journal", "empty.jsonl"],
      {},
    );
    assert.equal(none.code, 3);
    assert.match(
      none.stderr,
      new RegExp(`no entry for demo/sk:c in the journal ${join(cwd, "empty.jsonl")}`),
    );
  });

  it("UPSTREAM_URL ending in /v2/ is refused with the reason (exit 2)", async () => {
    const r = await cli(cwd, ["serve"], { UPSTREAM_URL: "http://127.0.0.1:5000/v2/", PORT: "0" });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /config key upstream\.url: must be the registry's root URL without \/v2 \(e\.g\. http:\/\/127\.0\.0\.1:5000\)/,
    );
  });
  it("embedded mode: a proxy killed with SIGKILL (no exit hook runs) takes its docker-registry with it", async () => {
    const proxy = await spawnProxy({ UPSTREAM_URL: "" });
    const pid = (await proxy.waitForLog("embedded docker-registry started"))["pid"] as number;
    try {
      assert.ok(alive(pid), "the embedded registry runs");
      proxy.child.kill("SIGKILL");
      assert.equal(await proxy.exited, null);
      // The kernel signals the registry when its parent dies; init reaps it.
      assert.ok(await gone(pid), `docker-registry ${pid} outlived its proxy`);
    } finally {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  });
});
