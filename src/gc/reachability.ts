/**
 * Which manifests of a repository no tag reaches, and which blobs collecting
 * them frees. Pure.
 *
 * Roots are the repository's tags, except the referrers tag schema's own tags
 * (`sha256-<hex>`): those reach their index only while the subject they name is
 * reachable; and the manifests the tag history's window holds (a deleted or moved
 * tag's past digests, so that an undelete inside the window finds them whole). From a reachable manifest, an index reaches its children; a manifest
 * with a `subject` (a referrer) is reachable when its subject is.
 *
 * The blobs freed follow what 2.8's `garbage-collect` (without
 * `--delete-untagged`) keeps: every blob that a remaining manifest revision, in
 * any repository, refers to (its own digest, config, layers, index children).
 */

export interface ManifestRefs {
  /** Manifests an index lists. */
  children: string[];
  /** Config and layers (and blobs an artifact lists). */
  blobs: string[];
  /** The `subject` of a referrer, or null. */
  subject: string | null;
}

export interface RepositoryGraph {
  name: string;
  revisions: readonly string[];
  tags: ReadonlyMap<string, string>;
  /** The parsed manifest of each revision (missing: unreadable, refers to nothing). */
  manifests: ReadonlyMap<string, ManifestRefs>;
  /** Manifests the tag history holds (roots like tags; some may have no revision any more). */
  held?: readonly string[];
}

export interface RepositoryReach {
  name: string;
  reachable: Set<string>;
  /** Revisions no tag reaches, sorted. */
  unreachable: string[];
}

const REFERRERS_TAG = /^sha256-([a-f0-9]{64})$/;
const NO_REFS: ManifestRefs = { children: [], blobs: [], subject: null };

/** The blobs and manifests a manifest refers to, from its JSON (anything unparsable refers to nothing). */
export function manifestRefs(body: Buffer | string): ManifestRefs {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString());
  } catch {
    return NO_REFS;
  }
  const m = (typeof doc === "object" && doc !== null ? doc : {}) as Record<string, unknown>;
  const digests = (list: unknown) =>
    Array.isArray(list)
      ? list.flatMap((d) => (typeof d?.digest === "string" ? [d.digest as string] : []))
      : [];
  const config = m["config"] as { digest?: unknown } | undefined;
  const subject = m["subject"] as { digest?: unknown } | undefined;
  return {
    children: digests(m["manifests"]),
    blobs: [
      ...(typeof config?.digest === "string" ? [config.digest] : []),
      ...digests(m["layers"]),
      ...digests(m["blobs"]),
    ],
    subject: typeof subject?.digest === "string" ? subject.digest : null,
  };
}

export function reachOf(repo: RepositoryGraph): RepositoryReach {
  const reachable = new Set<string>();
  const revisions = new Set(repo.revisions);
  const visit = (digest: string) => {
    if (reachable.has(digest)) return;
    reachable.add(digest);
    for (const child of repo.manifests.get(digest)?.children ?? []) visit(child);
  };
  for (const digest of repo.held ?? []) visit(digest);
  const referrersTags: [string, string][] = [];
  for (const [tag, digest] of repo.tags) {
    const m = REFERRERS_TAG.exec(tag);
    if (m) referrersTags.push([`sha256:${m[1]}`, digest]);
    else visit(digest);
  }
  // Referrers (by `subject`, or through a referrers tag) until nothing changes: a
  // referrer can itself be the subject of another.
  for (let grew = true; grew; ) {
    grew = false;
    const before = reachable.size;
    for (const [subject, index] of referrersTags) if (reachable.has(subject)) visit(index);
    for (const digest of revisions) {
      const subject = repo.manifests.get(digest)?.subject;
      if (subject && reachable.has(subject)) visit(digest);
    }
    grew = reachable.size > before;
  }
  const unreachable = repo.revisions.filter((d) => !reachable.has(d)).sort();
  return { name: repo.name, reachable, unreachable };
}

export interface RepositoryPlan {
  name: string;
  /** Manifests to delete by digest, referrers tag indexes first. */
  unreachable: string[];
  /** Blobs (manifests included) collecting them frees, with their sizes. */
  freed: Map<string, number>;
  bytes: number;
}

export interface CollectionPlan {
  repositories: RepositoryPlan[];
  /** Blobs no manifest refers to already (the registry's garbage-collect removes them too). */
  orphans: Map<string, number>;
  bytes: number;
}

/** How many manifests the plan deletes (every repository's unreachable ones). */
export function untaggedCount(plan: CollectionPlan): number {
  return plan.repositories.reduce((n, r) => n + r.unreachable.length, 0);
}

/**
 * What collecting every repository's unreachable manifests frees. `sizeOf` gives a
 * blob's size on disk (null: not there). A blob freed by several repositories is
 * counted for the first one (by name) only.
 */
export function planCollection(
  graphs: readonly RepositoryGraph[],
  allBlobs: readonly string[],
  sizeOf: (digest: string) => number | null,
): CollectionPlan {
  const reaches = graphs.map(reachOf);
  const marked = new Set<string>();
  graphs.forEach((g, i) => {
    for (const digest of reaches[i]!.reachable) {
      marked.add(digest);
      const refs = g.manifests.get(digest) ?? NO_REFS;
      for (const d of [...refs.children, ...refs.blobs]) marked.add(d);
    }
  });
  const counted = new Set<string>();
  const repositories = graphs.map((g, i) => {
    const freed = new Map<string, number>();
    const unreachable = reaches[i]!.unreachable;
    for (const digest of unreachable) {
      const refs = g.manifests.get(digest) ?? NO_REFS;
      for (const d of [digest, ...refs.children, ...refs.blobs]) {
        if (marked.has(d) || counted.has(d)) continue;
        const size = sizeOf(d);
        if (size === null) continue;
        counted.add(d);
        freed.set(d, size);
      }
    }
    const isIndexOfReferrers = (d: string) =>
      [...g.tags].some(([tag, digest]) => digest === d && REFERRERS_TAG.test(tag));
    const ordered = [
      ...unreachable.filter(isIndexOfReferrers),
      ...unreachable.filter((d) => !isIndexOfReferrers(d)),
    ];
    return { name: g.name, unreachable: ordered, freed, bytes: sum(freed) };
  });
  const orphans = new Map<string, number>();
  for (const d of allBlobs) {
    if (marked.has(d) || counted.has(d)) continue;
    const size = sizeOf(d);
    if (size !== null) orphans.set(d, size);
  }
  return { repositories, orphans, bytes: repositories.reduce((n, r) => n + r.bytes, 0) + sum(orphans) };
}

function sum(m: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}
