/**
 * What holds a manifest in a repository, found through the registry API with the
 * caller's own credentials (the digest delete guard, delete.digestDeletes:
 * protect): the tags pointing at it, and the tagged image indexes that list it.
 * A 2.x registry has no reverse lookup, so:
 *
 * 1. `HEAD` the manifest by digest (404: nothing to find).
 * 2. The tag list: from the tags list cache (a first look), or fetched afresh
 *    (under the repository's delete phase, where the answer is acted on).
 * 3. One `HEAD` per tag whose manifest is not known yet (every manifest type in
 *    Accept, so the digest is the stored one), `concurrency` at a time; what was
 *    learned is kept in the tag digest cache (tag-digest-cache.ts).
 * 4. Tags holding an index (other than the referrers tag schema's own
 *    `sha256-…` tags): one `GET` per distinct index (kept by digest: content
 *    never changes), nested indexes followed, each index read once.
 *
 * An upstream 401/403 is answered with the Bearer challenge widened to
 * `pull,delete`; anything else that keeps the check from being made refuses the
 * delete (502/503/504): the guard fails closed.
 */
import { LRUCache } from "lru-cache";
import { OciError } from "../oci/errors.js";
import { baseMediaType, INDEX_TYPES } from "../oci/media-types.js";
import { upstreamFailureError } from "../oci/upstream-failure.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import { mapLimit } from "../util/concurrency.js";
import { authFailure, DIGEST_DELETE_ACTIONS } from "./challenge.js";
import type { HoldingIndex } from "./digest-delete-decision.js";
import type { ListLoad, TagListCache } from "./list-cache.js";
import type { TagDigestCache, TagTarget, TagTargetsView } from "./tag-digest-cache.js";
import { TagList } from "./tag-list.js";

/** The referrers tag schema's tags (`<alg>-<hex>`): they hold referrers, not images. */
const REFERRERS_TAG = /^sha(?:256|384|512)-[a-f0-9]{64}$/;
/** 2.8 answers 500 to a read of a tag link being rewritten (shared notes §12): retried this often. */
const READ_RETRIES = 2;

/** The children of one index: their digests, and which are indexes themselves. */
export interface IndexChild {
  readonly digest: string;
  readonly index: boolean;
}

export interface ReferenceLookupDeps {
  tagLists: Pick<TagListCache, "load">;
  targets: TagDigestCache;
  /** Children of indexes already read, by `<name>@<digest>`. */
  children: LRUCache<string, readonly IndexChild[]>;
  /** Upstream requests in flight at once for one lookup. */
  concurrency: number;
}

export interface DigestQuery {
  name: string;
  digest: string;
  /** The registry with the caller's own credentials (and forwarding headers). */
  registry: RegistryCalls;
  /** The caller's Authorization header (the caches' key). */
  authorization: string | undefined;
}

export interface DigestReferences {
  /** The manifest exists (its HEAD answered 200). */
  exists: boolean;
  /** Tags pointing at it, sorted. */
  tags: string[];
  /** Tagged indexes listing it, sorted by digest. */
  indexes: HoldingIndex[];
}

/** A bounded cache for index children (content-addressed: never stale). */
export function createIndexChildrenCache(maxChildren = 200_000): LRUCache<string, readonly IndexChild[]> {
  return new LRUCache({ maxSize: maxChildren, sizeCalculation: (c) => c.length + 1 });
}

export function isIndexType(contentType: string | undefined): boolean {
  return INDEX_TYPES.has(baseMediaType(contentType));
}

/** The manifests an index lists (nothing for anything that is not an index). Pure. */
export function indexChildren(body: Buffer): IndexChild[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    return [];
  }
  const list = (doc as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(list)) return [];
  return list.flatMap((d: { digest?: unknown; mediaType?: unknown } | null) =>
    typeof d?.digest === "string"
      ? [{ digest: d.digest, index: isIndexType(typeof d.mediaType === "string" ? d.mediaType : "") }]
      : [],
  );
}

/** The refusal of a check that could not be made (never a go-ahead). */
function checkFailed(f: Failure, q: DigestQuery, step: string): OciError {
  const detail = { name: q.name, digest: q.digest, step };
  if (f.kind === "network") return upstreamFailureError(f.error.kind, { name: q.name, digest: q.digest });
  if (f.kind === "status" && (f.status === 401 || f.status === 403)) {
    return authFailure(f.status, f.headers, q.name, detail, DIGEST_DELETE_ACTIONS);
  }
  return new OciError(
    "UNAVAILABLE",
    "upstream registry failed the digest delete check; nothing was deleted",
    { ...detail, ...(f.kind === "status" ? { status: f.status } : { reason: describeFailure(f) }) },
    { status: 502 },
  );
}

/** A read, retried on 2.8's 500 of a link being rewritten. */
async function read<T>(call: () => Promise<T | Failure>): Promise<T | Failure> {
  for (let attempt = 0; ; attempt++) {
    const res = await call();
    if (!isFailed(res) || res.kind !== "status" || res.status !== 500 || attempt >= READ_RETRIES) return res;
    await new Promise((r) => setTimeout(r, 10 * (attempt + 1)));
  }
}

/** HEAD of a manifest: its target, null for 404; throws the refusal otherwise. */
async function headManifest(q: DigestQuery, ref: string): Promise<TagTarget | null> {
  const head = await read(() => q.registry.manifestHead(q.name, ref));
  if (head === null) return null;
  if (isFailed(head)) throw checkFailed(head, q, `HEAD ${ref}`);
  if (head.digest === undefined) {
    throw checkFailed({ ok: false, kind: "invalid", reason: "no Docker-Content-Digest" }, q, `HEAD ${ref}`);
  }
  return { digest: head.digest, index: isIndexType(head.mediaType) };
}

async function childrenOf(deps: ReferenceLookupDeps, q: DigestQuery, digest: string) {
  const key = `${q.name}@${digest}`;
  const cached = deps.children.get(key);
  if (cached) return cached;
  const got = await read(() => q.registry.manifestGet(q.name, digest));
  if (got === null) return [];
  if (isFailed(got)) throw checkFailed(got, q, `GET ${digest}`);
  const children = indexChildren(got.bytes);
  deps.children.set(key, children);
  return children;
}

async function tagList(
  deps: ReferenceLookupDeps,
  q: DigestQuery,
  fresh: boolean,
): Promise<readonly string[]> {
  const load = async (): Promise<ListLoad<Failure, TagList>> => {
    const tags = await q.registry.tagList(q.name);
    return isFailed(tags) ? { failure: tags } : { tags: new TagList(tags) };
  };
  const loaded = fresh ? await load() : await deps.tagLists.load(q.name, q.authorization, load);
  if ("tags" in loaded) return loaded.tags.sorted();
  const f = loaded.failure;
  if (f.kind === "status" && f.status === 404) return []; // no tags (2.8: NAME_UNKNOWN)
  throw checkFailed(f, q, "tags list");
}

/** Every listed tag's target (null: gone), HEADing those the view does not know. */
async function resolveTags(
  deps: ReferenceLookupDeps,
  q: DigestQuery,
  tags: readonly string[],
  view: TagTargetsView,
) {
  const unknown = tags.filter((t) => view.get(t) === undefined);
  await mapLimit(unknown, deps.concurrency, async (tag) => {
    view.set(tag, await headManifest(q, tag));
  });
}

/** The tagged indexes (referrers tags aside) that list `q.digest`, directly or nested. */
async function holdingIndexes(
  deps: ReferenceLookupDeps,
  q: DigestQuery,
  tags: readonly string[],
  view: TagTargetsView,
) {
  const roots = new Map<string, string[]>();
  for (const tag of tags) {
    const t = view.get(tag);
    if (!t?.index || t.digest === q.digest || REFERRERS_TAG.test(tag)) continue;
    const list = roots.get(t.digest);
    if (list) list.push(tag);
    else roots.set(t.digest, [tag]);
  }
  const reaches = new Map<string, Promise<boolean>>();
  const reach = (index: string): Promise<boolean> => {
    let known = reaches.get(index);
    if (known === undefined) {
      reaches.set(index, Promise.resolve(false)); // a cycle (impossible by content) ends here
      known = childrenOf(deps, q, index).then(async (children) => {
        if (children.some((c) => c.digest === q.digest)) return true;
        for (const c of children) if (c.index && (await reach(c.digest))) return true;
        return false;
      });
      reaches.set(index, known);
    }
    return known;
  };
  const holding: HoldingIndex[] = [];
  await mapLimit([...roots.keys()], deps.concurrency, async (index) => {
    if (await reach(index)) holding.push({ digest: index, tags: roots.get(index)! });
  });
  return holding.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/**
 * What holds `q.digest`. `fresh`: the tag list is fetched afresh (the answer will
 * be acted on); otherwise the tags list cache may answer.
 */
export async function findDigestReferences(
  deps: ReferenceLookupDeps,
  q: DigestQuery,
  fresh: boolean,
): Promise<DigestReferences> {
  if ((await headManifest(q, q.digest)) === null) return { exists: false, tags: [], indexes: [] };
  const tags = await tagList(deps, q, fresh);
  const view = await deps.targets.open(q.name, q.authorization);
  try {
    await resolveTags(deps, q, tags, view);
    const pointing = tags.filter((t) => view.get(t)?.digest === q.digest);
    return { exists: true, tags: pointing, indexes: await holdingIndexes(deps, q, tags, view) };
  } finally {
    await view.close();
  }
}
