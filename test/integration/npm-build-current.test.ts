/**
 * `npm start` builds first (`npm run build`): that build compiles nothing when
 * dist/ is current (tsc's build mode compares its inputs with its outputs and
 * dist/.tsbuildinfo), and compiles again once a source file changed. Run on a
 * copy of the project in a temporary folder (the checkout's dist/ is left alone).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const exec = promisify(execFile);

describe("npm run build (npm start's first step)", () => {
  let copy: string;
  before(() => {
    copy = mkdtempSync(join(tmpdir(), "rcp-build-"));
    for (const f of ["src", "package.json", "tsconfig.json", "tsconfig.build.json"])
      cpSync(join(ROOT, f), join(copy, f), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  });
  after(() => rmSync(copy, { recursive: true, force: true }));

  const build = () => exec("npm", ["run", "--silent", "build"], { cwd: copy, timeout: 170_000 });
  const builtAt = () => statSync(join(copy, "dist", "cli.js")).mtimeMs;

  it("compiles nothing when dist/ is current, and again once a source changed", {
    timeout: 400_000,
  }, async () => {
    await build();
    const first = builtAt();
    const main = statSync(join(copy, "dist", "main.js")).mtimeMs;
    await build();
    assert.equal(builtAt(), first, "dist/cli.js was not written again");
    assert.equal(statSync(join(copy, "dist", "main.js")).mtimeMs, main);

    appendFileSync(join(copy, "src", "cli.ts"), "\n// changed\n");
    await build();
    assert.ok(builtAt() > first, "a changed source is compiled again");
  });
});
