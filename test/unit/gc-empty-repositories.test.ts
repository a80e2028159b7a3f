import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  decideEmptyRepositories,
  removeEmptyRepositories,
  scanRepositoryFolders,
} from "../../src/gc/empty-repositories.js";

const D = `sha256:${"a".repeat(64)}`;

describe("gc: repositories without tags (gc/empty-repositories.ts)", () => {
  const root = mkdtempSync(join(tmpdir(), "rcp-gc-empty-unit-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const repo = (name: string) => join(root, "docker", "registry", "v2", "repositories", ...name.split("/"));
  const make = (name: string, o: { tag?: boolean; upload?: boolean; layers?: boolean } = {}) => {
    mkdirSync(join(repo(name), "_manifests", "revisions"), { recursive: true });
    if (o.layers !== false) mkdirSync(join(repo(name), "_layers", "sha256"), { recursive: true });
    if (o.tag) {
      mkdirSync(join(repo(name), "_manifests", "tags", "t", "current"), { recursive: true });
      writeFileSync(join(repo(name), "_manifests", "tags", "t", "current", "link"), D);
    }
    if (o.upload) mkdirSync(join(repo(name), "_uploads", "u1"), { recursive: true });
  };

  it("decides: tags stay out of it, uploads and history keep, the rest goes; a nested child is its own repository", () => {
    make("x/parent");
    make("x/parent/child", { tag: true });
    make("x/up", { upload: true });
    make("x/held");
    make("x/gone/deep");
    const folders = scanRepositoryFolders(root);
    assert.deepEqual(
      folders.map((f) => f.name),
      ["x/gone/deep", "x/held", "x/parent", "x/parent/child", "x/up"],
    );
    const d = decideEmptyRepositories(folders, [{ repository: "x/held", digest: D }]);
    assert.deepEqual(d.remove, ["x/gone/deep", "x/parent"]);
    assert.deepEqual(d.kept, [
      { name: "x/held", because: "held by the tag history" },
      { name: "x/up", because: "uploads in progress" },
    ]);
  });

  it("removes a parent's own folders only (its child's stay), and folders left empty up to the root", () => {
    const removed = removeEmptyRepositories(root, ["x/gone/deep", "x/parent", "x/parent/child"], []);
    assert.deepEqual(removed, ["x/gone/deep", "x/parent"], "a repository with tags is never removed");
    assert.deepEqual(
      scanRepositoryFolders(root).map((f) => f.name),
      ["x/held", "x/parent/child", "x/up"],
    );
    assert.equal(existsSync(repo("x/gone")), false, "x/gone was left empty: gone too");
    assert.equal(existsSync(join(repo("x/parent"), "_layers")), false);
  });
});
