/**
 * The command line: `--help` on every command prints its usage (exit 0); an
 * unknown option or a stray argument prints that usage as an error (exit 2).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { COMMANDS, runCommandLine } from "../../src/commands/command-line.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

async function run(argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCommandLine(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe("registry-compat-proxy <command> --help and bad options", () => {
  const names = Object.keys(COMMANDS);

  it("knows serve, tags, tag, prune, gc, history, undelete, repo, restore and healthcheck", () => {
    assert.deepEqual([...names].sort(), [
      "gc",
      "healthcheck",
      "history",
      "prune",
      "repo",
      "restore",
      "serve",
      "tag",
      "tags",
      "undelete",
    ]);
  });

  for (const name of names) {
    it(`${name} --help and ${name} -h print its usage on stdout and exit 0`, async () => {
      for (const help of ["--help", "-h"]) {
        const r = await run([name, help]);
        assert.equal(r.code, 0, r.err);
        assert.ok(r.out.startsWith(`usage: registry-compat-proxy ${name}`), r.out);
        assert.equal(r.err, "");
      }
    });

    it(`${name} --no-such-flag and ${name} stray print its usage on stderr and exit 2`, async () => {
      // Commands that take arguments (history REPO[:TAG]): one more than they take is stray.
      const taken = Array<string>(COMMANDS[name]!.positionals?.max ?? 0).fill("demo/app");
      for (const [args, message] of [
        [[...taken, "--no-such-flag"], /Unknown option '--no-such-flag'/],
        [[...taken, "stray"], /Unexpected argument 'stray'/],
      ] as const) {
        const r = await run([name, ...args]);
        assert.equal(r.code, 2, `${name} ${args.join(" ")}`);
        assert.match(r.err, message);
        assert.match(r.err, new RegExp(`usage: registry-compat-proxy ${name}`));
        assert.equal(r.out, "");
      }
    });
  }

  it("an option without its value is a usage error", async () => {
    const r = await run(["prune", "--registry"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--registry/);
  });

  it("--help alone lists the commands; an unknown command exits 2", async () => {
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    for (const name of names) assert.match(help.out, new RegExp(`^  ${name} `, "m"));
    const unknown = await run(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command: frobnicate/);
  });

  it("the binary exits 0 on prune --help and 2 on serve --bogus", async () => {
    const exit = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((res) => {
        execFile(
          process.execPath,
          ["--import", "tsx", "src/cli.ts", ...args],
          { cwd: ROOT },
          (err, stdout, stderr) => res({ code: err ? Number(err.code) : 0, stdout, stderr }),
        );
      });
    const help = await exit(["prune", "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: registry-compat-proxy prune --registry URL/);
    const bad = await exit(["serve", "--bogus"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--bogus'/);
  });
});
