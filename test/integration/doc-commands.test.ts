/**
 * Every fenced block of docs/*.md and README.md (but the walkthrough, which
 * readme-walkthrough.test.ts runs) is classified in BLOCKS (test/helpers/doc-blocks.ts), keyed by file
 * and the block's first line (its first `$ ` command for console blocks):
 * - "run": run verbatim with bash -euo pipefail in a temporary folder, with
 *   `registry-compat-proxy` on PATH (the checkout's build), against a proxy in
 *   front of the real docker-registry 2.8, seeded first with what the block
 *   expects. The one substitution is the proxy's address (the docs' localhost:5080
 *   or 127.0.0.1:5080, the address `npm start` prints). Console blocks run each
 *   `$ ` command and compare its output with the lines the doc shows under it.
 * - "output": output, usage or an example, not a command.
 * - "elsewhere": needs a cluster, compose, docker, the internet, or `npm start`'s
 *   ./data in the checkout (tests never touch it); `why` says which, and
 *   `coveredBy` names the test that checks the same effect.
 * The test fails when a block is in no list or a listed block is gone.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BLOCKS, type Block } from "../helpers/doc-blocks.js";
import { startRegistryAndProxy } from "../helpers/fixture.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const exec = promisify(execFile);

requireTools("curl");

/** The fenced blocks of one markdown file, without README's walkthrough section. */
export function blocksOf(file: string, markdown: string): Block[] {
  let text = markdown;
  if (file === "README.md") {
    const start = text.indexOf("\n## Walkthrough with skopeo\n");
    const end = text.indexOf("\n## ", start + 1);
    text = text.slice(0, start) + text.slice(end);
  }
  return [...text.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    file,
    lang: m[1]!,
    text: m[2]!,
    id: m[2]!.split("\n")[0]!.replace(/^\$ /, ""),
  }));
}

function allBlocks(): Block[] {
  const files = [
    "README.md",
    ...readdirSync(join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  return files.flatMap((f) => blocksOf(f, readFileSync(join(ROOT, f), "utf8")));
}

/** A console block's `$ ` commands, each with the lines the doc shows under it. */
function consoleSteps(text: string): { command: string; shown: string[] }[] {
  const steps: { command: string; shown: string[] }[] = [];
  for (const line of text.replace(/\n+$/, "").split("\n")) {
    if (line.startsWith("$ ")) steps.push({ command: line.slice(2), shown: [] });
    else steps.at(-1)?.shown.push(line);
  }
  for (const s of steps) while (s.shown.at(-1) === "") s.shown.pop();
  return steps;
}

/** `curl -i` output against the doc: the status line and body as shown, each shown header present. */
function assertShown(command: string, out: string, shown: string[]): void {
  const lines = out.replaceAll("\r", "").replace(/\n+$/, "").split("\n");
  const blank = lines.indexOf("");
  const shownBlank = shown.indexOf("");
  const msg = `${command}\nprinted:\n${out}`;
  assert.equal(lines[0], shown[0], msg);
  const headers = new Set(lines.slice(1, blank).map((h) => h.toLowerCase()));
  for (const h of shown.slice(1, shownBlank)) assert.ok(headers.has(h.toLowerCase()), `${h} missing: ${msg}`);
  assert.deepEqual(lines.slice(blank + 1), shown.slice(shownBlank + 1), msg);
}

describe("docs' command blocks: each classified, the runnable ones run as written (real registry)", () => {
  let work: string;
  const env = () => ({
    PATH: `${join(work, "bin")}:${process.env["PATH"] ?? ""}`,
    HOME: work,
    TMPDIR: work,
  });
  before(async () => {
    work = mkdtempSync(join(tmpdir(), "rcp-doc-blocks-"));
    mkdirSync(join(work, "bin"));
    const cli = join(work, "bin", "registry-compat-proxy");
    writeFileSync(cli, `#!/bin/sh\nexec node '${join(ROOT, "dist", "cli.js")}' "$@"\n`);
    chmodSync(cli, 0o755);
    await exec("npm", ["run", "--silent", "build"], { cwd: ROOT, timeout: 170_000 });
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("every block of README.md and docs/ is in the list, and every listed block exists", () => {
    const found = allBlocks();
    const key = (b: { file: string; id: string }) => `${b.file}: ${b.id}`;
    const listed = new Set(BLOCKS.map(key));
    const present = new Set(found.map(key));
    assert.deepEqual(
      found.map(key).filter((k) => !listed.has(k)),
      [],
      "blocks in no list: classify them in BLOCKS",
    );
    assert.deepEqual(
      BLOCKS.map(key).filter((k) => !present.has(k)),
      [],
      "listed blocks no longer in the docs",
    );
    assert.equal(found.length, BLOCKS.length, "one entry a block");
  });

  for (const entry of BLOCKS) {
    if (entry.class !== "run") continue;
    it(`${entry.file}: ${entry.id.slice(0, 60)} runs as written`, { timeout: 60_000 }, async () => {
      const block = allBlocks().find((b) => b.file === entry.file && b.id === entry.id);
      assert.ok(block, "the block is in the doc");
      const fx = await startRegistryAndProxy({ proxy: { log: { level: "warn" } } });
      try {
        for (const [repo, images] of Object.entries(entry.seed)) {
          for (const tags of images)
            await pushImage(
              fx.proxy.url,
              repo,
              makeImage({ layerCount: 1, ...(entry.created ? { created: entry.created } : {}) }),
              tags,
            );
        }
        const host = fx.proxy.url.replace(/^http:\/\/127\.0\.0\.1/, "");
        const run = async (script: string) => {
          const s = script
            .replaceAll("localhost:5080", `localhost${host}`)
            .replaceAll("127.0.0.1:5080", `127.0.0.1${host}`);
          const { stdout } = await exec("bash", ["-euo", "pipefail", "-c", s], {
            cwd: work,
            env: env(),
            timeout: 50_000,
          }).catch((err: Error & { stdout?: string; stderr?: string }) => {
            throw new Error(
              `${script}\nfailed: ${err.message}\nstdout:\n${err.stdout}\nstderr:\n${err.stderr}`,
            );
          });
          return stdout;
        };
        if (block.lang === "console") {
          for (const step of consoleSteps(block.text))
            assertShown(step.command, await run(step.command), step.shown);
        } else {
          entry.check?.(await run(block.text));
        }
        if (entry.tagsAfter) {
          const [repo, tags] = entry.tagsAfter;
          const res = await fetch(`${fx.proxy.url}/v2/${repo}/tags/list`);
          assert.deepEqual(((await res.json()) as { tags: string[] }).tags, tags);
        }
      } finally {
        await fx.stop();
      }
    });
  }
});
