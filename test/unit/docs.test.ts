/**
 * The documentation against the code: every configuration key (and its environment
 * variable) in docs/configuration.md, every endpoint the proxy answers itself in
 * docs/endpoints.md, and every relative link and #anchor of README.md and docs/
 * pointing at something that exists.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { SCHEMA, type Schema } from "../../src/config-schema.js";
import { OPS_PATHS, ownsRequest } from "../../src/http/routing.js";
import { parseRoute } from "../../src/oci/routes.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const DOCS = readdirSync(join(ROOT, "docs"))
  .filter((f) => f.endsWith(".md"))
  .map((f) => `docs/${f}`);

/** Table rows of a markdown file (lines starting with `|`). */
function rows(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("|"));
}

/** GitHub's heading anchors, outside fenced code. */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  let code = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) code = !code;
    const m = code ? null : /^#+ (.*)$/.exec(line);
    if (m) {
      out.add(
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, "")
          .replace(/ /g, "-"),
      );
    }
  }
  return out;
}

describe("docs/configuration.md", () => {
  const table = rows(read("docs/configuration.md"));

  it("documents every configuration key, with its environment variable in the same row", () => {
    for (const [section, fields] of Object.entries(SCHEMA as Schema)) {
      for (const [key, spec] of Object.entries(fields)) {
        const row = table.find((r) => r.includes(`\`${section}.${key}\``));
        assert.ok(row, `${section}.${key} is not in the configuration table`);
        if (spec.env)
          assert.ok(row.includes(`\`${spec.env}\``), `${section}.${key}: env ${spec.env} missing`);
      }
    }
  });

  it("documents no key the configuration does not have", () => {
    for (const row of table) {
      // The key column only (descriptions may name a registry's own settings).
      for (const [, section, key] of (row.split("|")[1] ?? "").matchAll(/`([a-z]+)\.([A-Za-z]+)`/g)) {
        assert.ok(
          key! in ((SCHEMA as Schema)[section!] ?? {}),
          `${section}.${key} is documented but unknown`,
        );
      }
    }
  });
});

describe("docs/endpoints.md", () => {
  const table = rows(read("docs/endpoints.md"));
  const listed = (method: string, pattern: string) =>
    table.some((r) => r.includes(pattern) && r.split("|")[1]!.includes(method));

  it("lists every operational endpoint", () => {
    for (const path of OPS_PATHS) assert.ok(listed("GET", `\`GET ${path}\``), path);
  });

  it("lists every API route the proxy answers itself", () => {
    const D = `sha256:${"a".repeat(64)}`;
    const owned: Array<[string, string, string]> = [
      ["GET", "/v2/a/tags/_list", "/v2/<name>/tags/_list"],
      ["GET", "/v2/a/tags/list", "/v2/<name>/tags/list"],
      ["DELETE", "/v2/a/tags/t", "/v2/<name>/tags/<tag>"],
      ["DELETE", "/v2/a/manifests/t", "/v2/<name>/manifests/<tag>"],
      ["DELETE", "/v2/a", "/v2/<name>`"],
      ["DELETE", `/v2/a/manifests/${D}`, "/v2/<name>/manifests/<digest>"],
      ["PUT", "/v2/a/manifests/t", "/v2/<name>/manifests/<ref>"],
      ["GET", `/v2/a/referrers/${D}`, "/v2/<name>/referrers/<digest>"],
    ];
    for (const [method, path, pattern] of owned) {
      assert.ok(ownsRequest(parseRoute(method, path), method), `${method} ${path} is owned`);
      assert.ok(listed(method, pattern), `${method} ${pattern} is not in docs/endpoints.md`);
    }
  });
});

describe("links in README.md and docs/", () => {
  it("every relative link names an existing file, and every #anchor a heading of it", () => {
    for (const file of ["README.md", ...DOCS]) {
      for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split("#") as [string, string | undefined];
        const resolved = path === "" ? file : join(dirname(file), path);
        assert.ok(existsSync(join(ROOT, resolved)), `${file}: ${target} → ${resolved} does not exist`);
        if (anchor !== undefined) {
          assert.ok(anchors(read(resolved)).has(anchor), `${file}: ${target}: no heading #${anchor}`);
        }
      }
    }
  });

  it("the README links every file of docs/", () => {
    const readme = read("README.md");
    for (const doc of DOCS) assert.ok(readme.includes(`](${doc})`), `${doc} is not linked from the README`);
  });
});
