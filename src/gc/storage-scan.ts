/**
 * Reading a distribution 2.x filesystem storage root (I/O only):
 *   docker/registry/v2/repositories/<name>/_manifests/revisions/sha256/<hex>/link
 *   docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link
 *   docker/registry/v2/blobs/sha256/<2>/<hex>/data
 * Repository names may nest (`a` and `a/b` are both repositories); folders whose
 * name starts with `_` are the registry's own.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ScannedRepository {
  name: string;
  /** Every manifest revision the repository holds (tagged or not). */
  revisions: string[];
  /** tag → digest */
  tags: Map<string, string>;
}

const V2 = join("docker", "registry", "v2");

function dirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

function readLink(path: string): string | null {
  try {
    const text = readFileSync(path, "utf8").trim();
    return /^sha256:[a-f0-9]{64}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

function scanRepository(dir: string, name: string): ScannedRepository {
  const manifests = join(dir, "_manifests");
  const revisionsDir = join(manifests, "revisions", "sha256");
  const revisions = dirs(revisionsDir)
    .filter((hex) => readLink(join(revisionsDir, hex, "link")) !== null)
    .map((hex) => `sha256:${hex}`);
  const tags = new Map<string, string>();
  for (const tag of dirs(join(manifests, "tags"))) {
    const digest = readLink(join(manifests, "tags", tag, "current", "link"));
    if (digest !== null) tags.set(tag, digest);
  }
  return { name, revisions, tags };
}

/** Every repository under the root, sorted by name; `onRepository` hears of each as it is read (progress). */
export function scanRepositories(
  root: string,
  onRepository?: (repository: ScannedRepository) => void,
): ScannedRepository[] {
  const out: ScannedRepository[] = [];
  const walk = (dir: string, prefix: string) => {
    const children = dirs(dir);
    if (children.includes("_manifests")) {
      const repository = scanRepository(dir, prefix);
      out.push(repository);
      onRepository?.(repository);
    }
    for (const child of children) {
      if (!child.startsWith("_")) walk(join(dir, child), prefix ? `${prefix}/${child}` : child);
    }
  };
  walk(join(root, V2, "repositories"), "");
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function blobPath(root: string, digest: string): string {
  const hex = digest.slice("sha256:".length);
  return join(root, V2, "blobs", "sha256", hex.slice(0, 2), hex, "data");
}

/** A blob's content (manifests are small), or null when it is not there. */
export function readBlob(root: string, digest: string): Buffer | null {
  try {
    return readFileSync(blobPath(root, digest));
  } catch {
    return null;
  }
}

/** A blob's size on disk, or null when it is not there. */
export function blobSize(root: string, digest: string): number | null {
  try {
    return statSync(blobPath(root, digest)).size;
  } catch {
    return null;
  }
}

/** Every blob digest in the store. */
export function listBlobs(root: string): string[] {
  const base = join(root, V2, "blobs", "sha256");
  return dirs(base).flatMap((two) => dirs(join(base, two)).map((hex) => `sha256:${hex}`));
}

function revisionLinkPath(root: string, repository: string, digest: string): string {
  const hex = digest.slice("sha256:".length);
  return join(root, V2, "repositories", repository, "_manifests", "revisions", "sha256", hex, "link");
}

/**
 * Writes a manifest's revision link again (what the registry writes on a manifest
 * PUT), for a manifest deleted by digest whose bytes are still stored: its blobs are
 * then kept by the registry's garbage-collect. False when the repository or the
 * manifest's bytes are not there (nothing is written).
 */
export function writeRevisionLink(root: string, repository: string, digest: string): boolean {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) return false;
  if (!existsSync(join(root, V2, "repositories", repository, "_manifests"))) return false;
  if (blobSize(root, digest) === null) return false;
  const link = revisionLinkPath(root, repository, digest);
  mkdirSync(join(link, ".."), { recursive: true });
  writeFileSync(link, digest);
  return true;
}
