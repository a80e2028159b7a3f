/**
 * A tag as the tag delete, its recovery and the immutable guard see it in the
 * registry: what it points at, whether it is still listed, and the two writes
 * of a swap. Every answer is a value or a Failure (registry-client/failure.ts),
 * never a throw.
 */
import type { Manifest, RegistryCalls } from "../registry-client/client.js";
import { type Failure, isFailed } from "../registry-client/failure.js";
import { findLimit } from "../util/concurrency.js";

/** The digest the tag points at now, or null when the registry has no manifest for it. */
export async function tagDigest(
  reg: RegistryCalls,
  name: string,
  tag: string,
): Promise<string | null | Failure> {
  const head = await reg.manifestHead(name, tag);
  if (head === null || isFailed(head)) return head;
  return (
    head.digest ?? {
      ok: false,
      kind: "invalid",
      reason: "upstream answered a HEAD without Docker-Content-Digest",
    }
  );
}

/** Whether `tags/list` still names the tag (a dangling tag does, a deleted one does not). */
export async function tagListed(reg: RegistryCalls, name: string, tag: string): Promise<boolean | Failure> {
  const tags = await reg.tagList(name);
  if (!isFailed(tags)) return tags.includes(tag);
  return tags.kind === "status" && tags.status === 404 ? false : tags;
}

/**
 * One of `tags` that points at `digest` (HEADs, at most `concurrency` at a time,
 * none started once one is found), or null; the first failure met otherwise.
 */
export async function tagPointingAt(
  reg: RegistryCalls,
  name: string,
  tags: readonly string[],
  digest: string,
  concurrency: number,
): Promise<string | null | Failure> {
  let failure: Failure | null = null;
  const found = await findLimit(tags, concurrency, async (tag) => {
    const current = await tagDigest(reg, name, tag);
    if (!isFailed(current)) return current === digest;
    failure ??= current;
    return true;
  });
  return failure ?? found;
}

/** PUT `manifest` to the tag; the registry must store exactly its digest. */
export async function putTag(
  reg: RegistryCalls,
  name: string,
  tag: string,
  manifest: Manifest,
): Promise<true | Failure> {
  const res = await reg.manifestPut(name, tag, manifest);
  return isFailed(res) ? res : true;
}

/** DELETE a manifest by digest (a tombstone): every tag on it goes too. */
export async function deleteDigest(
  reg: RegistryCalls,
  name: string,
  digest: string,
): Promise<true | Failure> {
  const res = await reg.manifestDelete(name, digest);
  return isFailed(res) ? res : true;
}
