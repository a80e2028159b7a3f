/**
 * Whether `DELETE /v2/<name>/manifests/<digest>` may go ahead with
 * `delete.digestDeletes: protect` (docs/digest-delete.md), from what holds the
 * manifest: the tags pointing at it, and the tagged image indexes that list it.
 *
 * - Two tags or more: refused. On a 2.x registry the delete would remove every
 *   one of them, which is what nobody running `skopeo delete repo:tag` means.
 * - A tagged index lists it (a platform of a multi-arch image): refused, the
 *   image would break.
 * - Otherwise (one tag, or none): allowed, as the registry does it.
 * A refusal is 403 DENIED naming every tag and how to remove one.
 *
 * Pure.
 */

/** A tagged image index that lists the manifest (directly or through nested indexes). */
export interface HoldingIndex {
  readonly digest: string;
  readonly tags: readonly string[];
}

export interface DigestHolders {
  readonly name: string;
  readonly digest: string;
  /** Tags pointing at the manifest, sorted. */
  readonly tags: readonly string[];
  /** Tagged indexes listing it, sorted by digest. */
  readonly indexes: readonly HoldingIndex[];
}

export type RefusalReason = "tags" | "index";

export type DigestDeleteDecision =
  | { readonly allow: true }
  | {
      readonly allow: false;
      readonly reason: RefusalReason;
      readonly message: string;
      readonly detail: Record<string, unknown>;
    };

/** Tags named in a message at most; the detail lists them all. */
export const TAGS_IN_MESSAGE = 10;

/** `a, b and c`, or the first TAGS_IN_MESSAGE and how many more. */
export function listTags(tags: readonly string[]): string {
  if (tags.length === 1) return tags[0]!;
  if (tags.length > TAGS_IN_MESSAGE) {
    return `${tags.slice(0, TAGS_IN_MESSAGE).join(", ")} and ${tags.length - TAGS_IN_MESSAGE} more`;
  }
  return `${tags.slice(0, -1).join(", ")} and ${tags[tags.length - 1]}`;
}

function tagsMessage(h: DigestHolders): string {
  return (
    `manifest ${h.digest} is tagged ${listTags(h.tags)} (${h.tags.length} tags): ` +
    "a delete by digest would remove every one of them. " +
    `Remove one tag with DELETE /v2/${h.name}/manifests/<tag>; ` +
    "the manifest itself can be deleted by digest once one tag or none is left"
  );
}

function indexMessage(h: DigestHolders): string {
  const first = h.indexes[0]!;
  const more = h.indexes.length > 1 ? ` (and ${h.indexes.length - 1} more tagged indexes)` : "";
  return (
    `manifest ${h.digest} is part of the image index ${first.digest}, tagged ${listTags(first.tags)}${more}: ` +
    "deleting it would break that multi-arch image. " +
    `Remove the index's tags first (DELETE /v2/${h.name}/manifests/<tag>)`
  );
}

export function decideDigestDelete(h: DigestHolders): DigestDeleteDecision {
  const byTags = h.tags.length >= 2;
  if (!byTags && h.indexes.length === 0) return { allow: true };
  return {
    allow: false,
    reason: byTags ? "tags" : "index",
    message: byTags ? tagsMessage(h) : indexMessage(h),
    detail: {
      name: h.name,
      digest: h.digest,
      tags: [...h.tags],
      indexes: h.indexes.map((i) => ({ digest: i.digest, tags: [...i.tags] })),
      untag: `DELETE /v2/${h.name}/manifests/<tag>`,
      digestDeletes: "protect",
    },
  };
}
