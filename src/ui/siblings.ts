/**
 * The sibling tags of a tag: the other tags pointing at the same manifest, named
 * by the delete confirmation as the ones that stay. A registry can only tell a
 * tag's digest one tag at a time, so this is a scan of the repository's tags
 * (manifest HEADs, a bounded number at once, the digests already known from the
 * tags page reused), kept for a moment per visitor and repository, and waited
 * for only so long: a repository with many thousands of tags gets the siblings
 * found so far and how many tags are still unchecked, while the scan goes on for
 * the next look. The delete never depends on it: the proxy's tag delete keeps
 * every other tag, whatever the confirmation knew.
 */
import { isFailed } from "../registry-client/failure.js";
import { loadTagList } from "../tags/list-answer.js";
import { mapLimit } from "../util/concurrency.js";
import { isReferrersTag, type UiReader } from "./reads.js";
import type { TagScan } from "./ui-caches.js";

/** HEADs in flight at once for one scan. */
export const SCAN_CONCURRENCY = 8;
/** How long the confirmation waits for a scan before showing what it found so far. */
export const SCAN_WAIT_MS = 3000;

export interface Siblings {
  /** Tags found at the digest (the tag itself and fallback tags left out), sorted. */
  tags: string[];
  /** Tags looked at, and in all. */
  checked: number;
  total: number;
  /** Why the scan stopped early, if it did. */
  error: string | null;
}

function startScan(r: UiReader, name: string): TagScan {
  const digests = new Map<string, string | null>();
  const scan: TagScan = { total: 0, digests, failure: null, done: Promise.resolve() };
  const run = async () => {
    const loaded = await loadTagList(r.deps.tagLists, {
      name,
      authorization: r.visitor.authorization,
      registry: r.reg,
    });
    if ("failure" in loaded) {
      scan.failure = loaded.failure;
      return;
    }
    const tags = loaded.tags.sorted().filter((t) => !isReferrersTag(t));
    scan.total = tags.length;
    await mapLimit(tags, SCAN_CONCURRENCY, async (tag) => {
      if (scan.failure !== null) return;
      const known = r.caches.knownDigest(r.visitor.key, name, tag);
      if (known !== undefined) {
        digests.set(tag, known);
        return;
      }
      const head = await r.reg.manifestHead(name, tag);
      if (isFailed(head)) scan.failure = head;
      else digests.set(tag, head?.digest ?? null);
    });
  };
  scan.done = run().catch((err: unknown) => {
    r.deps.logger.warn({ err, repository: name }, "ui: sibling scan failed");
    scan.failure = { ok: false, kind: "invalid", reason: "scan failed" };
  });
  return scan;
}

/** The siblings of `name:tag` at `digest`, as far as a scan found them within `waitMs`. */
export async function findSiblings(
  r: UiReader,
  name: string,
  tag: string,
  digest: string,
  waitMs = SCAN_WAIT_MS,
): Promise<Siblings> {
  const scan = r.caches.scan(r.visitor.key, name, () => startScan(r, name));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([scan.done, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
  const tags: string[] = [];
  for (const [t, d] of scan.digests) if (d === digest && t !== tag) tags.push(t);
  tags.sort();
  const f = scan.failure;
  return {
    tags,
    checked: scan.digests.size,
    total: scan.total,
    error: f === null ? null : f.kind === "status" ? `the registry answered ${f.status}` : f.kind,
  };
}
