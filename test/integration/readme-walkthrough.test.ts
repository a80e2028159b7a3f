/**
 * README.md's "Walkthrough with skopeo", run as written: every `sh` block of that
 * section, in order, as one bash script in a temporary folder, against a proxy
 * in front of the real docker-registry 2.8. The one substitution is the one the
 * README names: the proxy's address ("npm start prints the address; here
 * 127.0.0.1:5080"). buildah keeps its images in a temporary storage
 * (CONTAINERS_STORAGE_CONF), so the machine's containers storage is not touched.
 * The `node dist/cli.js` lines run the checkout's build (`npm run build` first, as
 * the README says).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { requireTools } from "../helpers/prereq.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const exec = promisify(execFile);

requireTools("buildah", "skopeo", "curl");

/**
 * The walkthrough's blocks not run by this test, and why: they need `npm start`'s
 * embedded registry and its ./data in the checkout, which tests never touch.
 */
const NOT_RUN_HERE = [
  {
    marker: "node dist/cli.js gc ",
    why: "gc finds the embedded registry's config in ./data; run with a data dir of its own by gc-docs.test.ts and gc-embedded.test.ts",
  },
  {
    marker: "node dist/cli.js history demo/app:1.0",
    why: "history and undelete find npm start's admin listener in ./data; the same commands run in history.test.ts and gc-embedded.test.ts",
  },
];

/** The `sh` blocks of the README section whose heading is `title`. */
export function sectionBlocks(markdown: string, title: string): string[] {
  const start = markdown.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `no section "${title}"`);
  const end = markdown.indexOf("\n## ", start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe("README walkthrough, run as written (real registry, buildah, skopeo, curl)", () => {
  let work: string;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), "rcp-readme-"));
    writeFileSync(
      join(work, "storage.conf"),
      `[storage]\ndriver = "vfs"\ngraphroot = "${work}/containers"\nrunroot = "${work}/run"\n`,
    );
    // "npm run build first": the CLI lines run dist/cli.js.
    await exec("npm", ["run", "--silent", "build"], { cwd: ROOT, timeout: 170_000 });
  });
  after(() => rmSync(work, { recursive: true, force: true }));
  const fx = useRegistryAndProxy({ proxy: { log: { level: "warn" } } });

  it("pushes, lists, deletes one tag, pulls, and lists and deletes with the CLI", {
    timeout: 300_000,
  }, async () => {
    const blocks = sectionBlocks(readFileSync(join(ROOT, "README.md"), "utf8"), "Walkthrough with skopeo");
    const run = blocks.filter((b) => !NOT_RUN_HERE.some((n) => b.includes(n.marker)));
    assert.equal(
      run.length,
      blocks.length - NOT_RUN_HERE.length,
      "each block not run here is still in the README",
    );
    const host = fx.proxy.url.replace(/^http:\/\//, "");
    const script = run.join("\n").replaceAll("127.0.0.1:5080", host);
    const { stdout } = await exec("bash", ["-euo", "pipefail", "-c", `cd '${ROOT}'\n${script}`], {
      cwd: work,
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: work,
        TMPDIR: work,
        CONTAINERS_STORAGE_CONF: join(work, "storage.conf"),
        BUILDAH_ISOLATION: "chroot",
      },
      timeout: 280_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(
        `the walkthrough failed: ${err.message}\nstdout:\n${err.stdout}\nstderr:\n${err.stderr}`,
      );
    });
    // The README's comments say what each line prints.
    assert.match(stdout, /^link: <\/v2\/demo\/app\/tags\/_list\?n=1&last=1\.0>; rel="next"\r$/m);
    assert.match(stdout, /\{"name":"demo\/app","tags":\["1\.0"\]\}/);
    assert.match(stdout, /^202$/m);
    assert.match(stdout, /^latest\nrc$/m, "tags list: latest and rc, a line each");
    assert.match(stdout, /^deleted demo\/app:rc$/m);
    const tags = await exec("skopeo", ["list-tags", "--tls-verify=false", `docker://${host}/demo/app`]);
    assert.deepEqual(JSON.parse(tags.stdout).Tags, ["latest"]);
  });
});
