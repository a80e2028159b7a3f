/**
 * Commands in README.md, docs/ and deploy/ that a newcomer pastes against the local proxy
 * (plain HTTP on localhost or 127.0.0.1): skopeo and podman need their TLS check turned off
 * for that side (skopeo: --src-tls-verify=false / --dest-tls-verify=false or --tls-verify=false
 * by direction), or they fail with "http: server gave HTTP response to HTTPS client".
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const LOCAL = /^docker:\/\/(localhost|127\.0\.0\.1)(:\d+)?\//;

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs")).map((f) => `docs/${f}`);
  const deploy = readdirSync(join(ROOT, "deploy"), { recursive: true, encoding: "utf8" }).map(
    (f) => `deploy/${f}`,
  );
  return ["README.md", ...docs, ...deploy].filter((f) => f.endsWith(".md"));
}

/** Command lines of skopeo and podman: code spans and code block lines, continuations joined. */
function commandLines(text: string): string[] {
  const joined = text.replace(/\\\n\s*/g, " ");
  const spans = [...joined.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  const lines = joined.split("\n").map((l) => l.replace(/^\$ /, "").trim());
  return [...spans, ...lines].filter((l) =>
    /^(skopeo|podman) (copy|inspect|list-tags|delete|push|pull)\b/.test(l),
  );
}

/** The TLS flags a command needs for its local plain-HTTP references, missing from it. */
function missingFlags(line: string): string[] {
  const words = line.split(/\s+/).map((w) => w.replace(/^["']|["']$/g, ""));
  const [tool, verb] = words;
  const refs = words.slice(2).filter((w) => !w.startsWith("-"));
  const has = (flag: string) => words.includes(flag);
  const missing: string[] = [];
  if (tool === "skopeo" && verb === "copy") {
    if (LOCAL.test(refs[0] ?? "") && !has("--src-tls-verify=false")) missing.push("--src-tls-verify=false");
    if (LOCAL.test(refs[1] ?? "") && !has("--dest-tls-verify=false")) missing.push("--dest-tls-verify=false");
  } else if (refs.some((r) => LOCAL.test(r) || /^(localhost|127\.0\.0\.1):\d+\//.test(r))) {
    if (!has("--tls-verify=false")) missing.push("--tls-verify=false");
  }
  return missing;
}

describe("skopeo and podman commands in the docs against the local proxy", () => {
  it("carry the TLS flags plain HTTP on localhost needs", () => {
    const problems: string[] = [];
    let seen = 0;
    for (const file of markdownFiles()) {
      for (const line of commandLines(readFileSync(join(ROOT, file), "utf8"))) {
        seen++;
        const missing = missingFlags(line);
        if (missing.length > 0) problems.push(`${file}: ${line}  (needs ${missing.join(" ")})`);
      }
    }
    assert.ok(seen >= 8, `${seen} commands found`);
    assert.deepEqual(problems, []);
  });
});
