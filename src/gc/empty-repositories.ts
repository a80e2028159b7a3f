/**
 * `gc`'s step for repositories without tags (distribution #1585: a repository
 * whose last tag is gone stays in `/v2/_catalog` for ever). In a 2.x filesystem
 * storage a repository is a folder under `docker/registry/v2/repositories/`
 * holding the registry's own folders: `_manifests` (revisions and `tags`),
 * `_layers` (the blob links: the catalog lists exactly the folders that have one)
 * and `_uploads` (uploads in progress). Names nest: `a/b/c` lives inside the
 * folder of `a/b`, beside its `_` folders.
 *
 * A repository goes when it has no tag, no upload in progress and no manifest
 * the tag history's window holds (an undelete needs it). Going means: its own
 * `_manifests`, `_layers` and `_uploads` are removed (never a child repository's
 * folder), then its folder and the parent folders left empty that are no
 * repository themselves. The registry's garbage-collect run afterwards frees the
 * blobs nothing refers to any more; the name leaves the catalog, and a push to it
 * later starts a new repository as usual. Runs inside the read-only window, like
 * every other step of `gc --apply`, so no push or upload can start meanwhile.
 */
import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { HeldRoot } from "./steps.js";

/** Why a repository without tags stays. */
export type KeptBecause = "uploads in progress" | "held by the tag history";

export interface EmptyRepositories {
  /** Repositories without tags that go (would go, in a dry run), in name order. */
  remove: string[];
  /** Repositories without tags that stay, and why. */
  kept: { name: string; because: KeptBecause }[];
}

/** What the step reads of one repository folder. */
export interface RepositoryFolder {
  name: string;
  /** Tags with a `current/link`. */
  tags: number;
  /** Upload folders in `_uploads`. */
  uploads: number;
}

const OWN_FOLDERS = ["_manifests", "_layers", "_uploads"] as const;

function repositoriesRoot(root: string): string {
  return join(root, "docker", "registry", "v2", "repositories");
}

function entries(path: string): { name: string; dir: boolean }[] {
  try {
    return readdirSync(path, { withFileTypes: true }).map((d) => ({ name: d.name, dir: d.isDirectory() }));
  } catch {
    return [];
  }
}

/** Every repository folder (one with `_manifests` or `_layers`) under the storage root, in name order. */
export function scanRepositoryFolders(root: string): RepositoryFolder[] {
  const out: RepositoryFolder[] = [];
  const walk = (dir: string, name: string) => {
    const children = entries(dir).filter((e) => e.dir);
    const own = new Set(children.map((c) => c.name));
    if (name !== "" && (own.has("_manifests") || own.has("_layers"))) {
      const tagsDir = join(dir, "_manifests", "tags");
      const tags = entries(tagsDir).filter(
        (t) => t.dir && existsSync(join(tagsDir, t.name, "current", "link")),
      );
      const uploads = entries(join(dir, "_uploads")).filter((u) => u.dir).length;
      out.push({ name, tags: tags.length, uploads });
    }
    for (const c of children)
      if (!c.name.startsWith("_")) walk(join(dir, c.name), name === "" ? c.name : `${name}/${c.name}`);
  };
  walk(repositoriesRoot(root), "");
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The decision, pure: which repositories without tags go, which stay and why. */
export function decideEmptyRepositories(
  folders: readonly RepositoryFolder[],
  held: readonly HeldRoot[],
): EmptyRepositories {
  const holding = new Set(held.map((h) => h.repository));
  const result: EmptyRepositories = { remove: [], kept: [] };
  for (const f of folders) {
    if (f.tags > 0) continue;
    if (f.uploads > 0) result.kept.push({ name: f.name, because: "uploads in progress" });
    else if (holding.has(f.name)) result.kept.push({ name: f.name, because: "held by the tag history" });
    else result.remove.push(f.name);
  }
  return result;
}

/** The plan for the storage at `root` now. */
export function planEmptyRepositories(root: string, held: readonly HeldRoot[]): EmptyRepositories {
  return decideEmptyRepositories(scanRepositoryFolders(root), held);
}

/**
 * Removes the storage of `names` (checked again one by one: a repository that has
 * gained a tag or an upload meanwhile stays). Returns the names removed.
 */
export function removeEmptyRepositories(
  root: string,
  names: readonly string[],
  held: readonly HeldRoot[],
): string[] {
  const still = new Set(planEmptyRepositories(root, held).remove);
  const removed: string[] = [];
  for (const name of names) {
    if (!still.has(name)) continue;
    const dir = join(repositoriesRoot(root), ...name.split("/"));
    for (const own of OWN_FOLDERS) rmSync(join(dir, own), { recursive: true, force: true });
    removeEmptyFolders(root, name);
    removed.push(name);
  }
  return removed;
}

/** The folder of `name` and its parents up to the repositories root, while each is empty. */
function removeEmptyFolders(root: string, name: string): void {
  const parts = name.split("/");
  for (let i = parts.length; i > 0; i--) {
    const dir = join(repositoriesRoot(root), ...parts.slice(0, i));
    if (entries(dir).length > 0) return;
    try {
      rmdirSync(dir);
    } catch {
      return;
    }
  }
}
