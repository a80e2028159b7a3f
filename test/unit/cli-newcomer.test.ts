/**
 * The command line as a newcomer meets it: `--version`, every command's `--help` naming
 * each of its flags and environment variables, values refused with the reason (a negative
 * count, a registry address without its scheme) instead of a parser's riddle or a TLS error.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { COMMANDS, runCommandLine } from "../../src/commands/command-line.js";
import { SCHEMA } from "../../src/config-schema.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

async function run(argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCommandLine(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe("registry-compat-proxy as a newcomer meets it", () => {
  it("--version, -V and version print the package's version and exit 0", async () => {
    for (const arg of ["--version", "-V", "version"]) {
      const r = await run([arg]);
      assert.equal(r.code, 0, arg);
      assert.equal(r.out, `registry-compat-proxy ${VERSION}\n`, arg);
    }
  });

  it("the binary prints its version", async () => {
    const out = await new Promise<string>((res, rej) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "src/cli.ts", "--version"],
        { cwd: ROOT },
        (err, stdout) => (err ? rej(err) : res(stdout)),
      ),
    );
    assert.equal(out, `registry-compat-proxy ${VERSION}\n`);
  });

  for (const [name, command] of Object.entries(COMMANDS)) {
    it(`${name} --help names each of its flags and environment variables`, async () => {
      const r = await run([name, "--help"]);
      assert.equal(r.code, 0);
      for (const option of Object.keys(command.options)) {
        assert.match(r.out, new RegExp(`--${option}\\b`), `${name} --help lacks --${option}`);
      }
      assert.ok((command.env ?? []).length > 0, `${name} declares the environment it reads`);
      for (const variable of command.env ?? [])
        assert.match(r.out, new RegExp(`\\b${variable}\\b`), variable);
    });
  }

  it("serve --help names every environment variable of the configuration, --port and --upstream", async () => {
    const r = await run(["serve", "--help"]);
    const envs = Object.values(SCHEMA).flatMap((fields) =>
      Object.values(fields as Record<string, { env?: string }>).flatMap((f) => (f.env ? [f.env] : [])),
    );
    assert.ok(envs.length > 20);
    for (const variable of [...envs, "RCP_CONFIG"])
      assert.match(r.out, new RegExp(`\\b${variable}\\b`), variable);
    assert.match(r.out, /--port PORT/);
    assert.match(r.out, /--upstream URL/);
  });

  it("a negative or malformed number is refused naming the option and the value (prune --keep -1)", async () => {
    for (const args of [["--keep", "-1"], ["--keep=-1"], ["--keep", "3", "--concurrency", "-4"]]) {
      const r = await run(["prune", "--registry", "http://127.0.0.1:1", ...args]);
      assert.equal(r.code, 2, args.join(" "));
      assert.doesNotMatch(r.err, /ambiguous/);
      assert.match(r.err, /--(keep|concurrency) must be a whole number from \d+ to \d+, got "-\d"/, r.err);
    }
    const port = await run(["serve", "--port", "-1"]);
    assert.equal(port.code, 2);
    assert.match(port.err, /--port must be a whole number from 0 to 65535, got "-1"/);
    const word = await run(["serve", "--port", "http"]);
    assert.equal(word.code, 2);
    assert.match(word.err, /--port must be a whole number from 0 to 65535, got "http"/);
  });

  it("a registry address without its scheme is refused, naming both spellings (no TLS guess)", async () => {
    for (const [name, args] of [
      ["prune", ["--registry", "127.0.0.1:5080"]],
      ["gc", ["--registry", "localhost:5080"]],
      ["gc", ["--admin", "127.0.0.1:9102"]],
      ["history", ["demo/app", "--admin", "127.0.0.1:9102"]],
      ["restore", ["--repository", "r", "--tag", "t", "--upstream", "registry:5000"]],
      ["healthcheck", ["--url", "127.0.0.1:5080/healthz"]],
      ["serve", ["--upstream", "127.0.0.1:5000"]],
    ] as const) {
      const r = await run([name, ...args]);
      const value = args.find((a) => /:\d/.test(a))!;
      assert.equal(r.code, 2, `${name} ${args.join(" ")}: ${r.err}`);
      assert.match(r.err, /has no scheme/);
      assert.ok(r.err.includes(`http://${value}`) && r.err.includes(`https://${value}`), r.err);
    }
  });
});
