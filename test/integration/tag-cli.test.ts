/**
 * `registry-compat-proxy tag delete REPO:TAG` and `tags list REPO` as a user runs
 * them: child processes against the proxy in front of the real docker-registry 2.8.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { closedPort } from "../helpers/net.js";
import { seed } from "../helpers/tags.js";

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

describe("registry-compat-proxy tag delete and tags list (real registry)", () => {
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), "rcp-tag-cli-home-"));
  });
  after(() => rmSync(home, { recursive: true, force: true }));
  const fx = useRegistryAndProxy({
    proxy: { log: { level: "warn" }, tags: { immutable: ["keep-*"], cacheTtlMs: 0 } },
  });

  /** The CLI with a clean environment (no real auth file). */
  function cli(args: string[], env: Record<string, string> = {}): Promise<Exit> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "src/cli.ts", ...args],
        { env: { PATH: process.env["PATH"] ?? "", HOME: home, ...env }, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  it("tags list REPO prints every tag, one a line, following the proxy's pages", async () => {
    const tags = Array.from({ length: 7 }, (_, i) => `t${i}`);
    await seed(fx.proxy.url, "cli/list", tags);
    const r = await cli(["tags", "list", "cli/list", "--registry", fx.proxy.url, "--page-size", "3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), tags);
    const j = await cli(["tags", "list", "cli/list", "--registry", fx.proxy.url, "--json"]);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.stdout), { name: "cli/list", tags });
  });

  it("tags list of a repository that does not exist exits 3 naming it", async () => {
    const r = await cli(["tags", "list", "cli/nosuch", "--registry", fx.proxy.url]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /tags list cli\/nosuch: repository not found \(404 NAME_UNKNOWN/);
    assert.equal(r.stdout, "");
  });

  it("tag delete REPO:TAG deletes that tag only, through the proxy's tag delete", async () => {
    await seed(fx.proxy.url, "cli/del", ["a", "b"]);
    const r = await cli(["tag", "delete", "cli/del:a", "--registry", fx.proxy.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "deleted cli/del:a\n");
    const left = await request("GET", `${fx.registry.url}/v2/cli/del/tags/list`);
    assert.deepEqual(left.json<{ tags: string[] }>().tags, ["b"]);
  });

  it("tag delete of a tag or a repository that does not exist exits 3 with what is missing", async () => {
    await seed(fx.proxy.url, "cli/miss", ["here"]);
    const tag = await cli(["tag", "delete", "cli/miss:gone", "--registry", fx.proxy.url]);
    assert.equal(tag.code, 3, tag.stderr);
    assert.match(tag.stderr, /tag delete cli\/miss:gone: tag not found/);
    const repo = await cli(["tag", "delete", "cli/nosuch:x", "--registry", fx.proxy.url]);
    assert.equal(repo.code, 3, repo.stderr);
    assert.match(repo.stderr, /tag delete cli\/nosuch:x: repository not found/);
  });

  it("tag delete of an immutable tag exits 1 saying so, and the tag stays", async () => {
    await seed(fx.proxy.url, "cli/imm", ["keep-1"]);
    const r = await cli(["tag", "delete", "cli/imm:keep-1", "--registry", fx.proxy.url]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /refused, the tag is immutable/);
    const left = await request("GET", `${fx.registry.url}/v2/cli/imm/tags/list`);
    assert.deepEqual(left.json<{ tags: string[] }>().tags, ["keep-1"]);
  });

  it("refuses usage errors with exit 2: no scheme, no tag, bad names, a closed port is exit 1", async () => {
    const hostPort = fx.proxy.url.replace("http://", "");
    const cases: Array<[string[], RegExp]> = [
      [["tag", "delete", "cli/del:b", "--registry", hostPort], /has no scheme: write http:\/\//],
      [["tag", "delete", "cli/del", "--registry", fx.proxy.url], /name the tag: cli\/del:TAG/],
      [["tag", "delete", "Bad:x", "--registry", fx.proxy.url], /not a repository name/],
      [["tag", "remove", "cli/del:b", "--registry", fx.proxy.url], /write "tag delete/],
      [["tag", "delete", "cli/del:b"], /--registry URL is required/],
      [["tags", "list", "cli/list", "--registry", fx.proxy.url, "--page-size", "0"], /--page-size must be/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const closed = await cli([
      "tags",
      "list",
      "cli/list",
      "--registry",
      `http://127.0.0.1:${await closedPort()}`,
    ]);
    assert.equal(closed.code, 1, closed.stderr);
    assert.match(closed.stderr, /ECONNREFUSED/);
  });

  it("--help lists the flags, the environment and the exit codes", async () => {
    for (const cmd of [["tag"], ["tags"]]) {
      const r = await cli([...cmd, "--help"]);
      assert.equal(r.code, 0);
      for (const word of [
        "--registry URL",
        "--username",
        "REGISTRY_USERNAME",
        "REGISTRY_AUTH_FILE",
        "Exit code",
      ])
        assert.ok(r.stdout.includes(word), `${cmd} --help lacks ${word}: ${r.stdout}`);
    }
  });
});
