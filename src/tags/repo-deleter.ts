/**
 * The repository delete (`DELETE /v2/<name>`, docs/repo-delete.md): every tag of
 * the repository goes through the single tag delete (its probe, swap, rollback,
 * journal and history), so nothing here writes upstream itself.
 *
 * - planRepoDelete (pure): from the listed tags and the immutable rules, either
 *   the tags to delete, the refusal naming every immutable tag (before anything
 *   changes), or "no tags" (the repository is unknown to the spec).
 * - runRepoDelete: the tags, at most `concurrency` at a time; after the first
 *   failure no further tag is started (those in flight finish), and the result
 *   says which tags were deleted and which remain.
 */
import { mapLimit } from "../util/concurrency.js";

/** Single tag deletes in flight at once for one repository delete. */
export const REPO_DELETE_CONCURRENCY = 4;

export type RepoDeletePlan =
  | { kind: "no-tags" }
  | { kind: "refused"; immutable: Array<{ tag: string; rule: string }> }
  | { kind: "delete"; tags: string[] };

/** What to do with a repository listing `tags`; `ruleFor(tag)` names the immutable rule covering a tag, or null. */
export function planRepoDelete(
  tags: readonly string[],
  ruleFor: (tag: string) => string | null,
): RepoDeletePlan {
  const unique = [...new Set(tags)].sort();
  if (unique.length === 0) return { kind: "no-tags" };
  const immutable: Array<{ tag: string; rule: string }> = [];
  for (const tag of unique) {
    const rule = ruleFor(tag);
    if (rule !== null) immutable.push({ tag, rule });
  }
  return immutable.length > 0 ? { kind: "refused", immutable } : { kind: "delete", tags: unique };
}

/** One tag's delete: done (or found gone already), or the error its client would get. */
export type TagOutcome<E> = { ok: true } | { ok: false; error: E };

export interface RepoDeleteResult<E> {
  /** Tags deleted (or gone already), sorted. */
  deleted: string[];
  /** Tags not deleted: failed, or never started after a failure; sorted. */
  remaining: string[];
  /** The failures, in the order the tags were listed. */
  failed: Array<{ tag: string; error: E }>;
}

/** Deletes `tags` with `deleteTag`; stops starting new ones after the first failure. */
export async function runRepoDelete<E>(
  tags: readonly string[],
  deleteTag: (tag: string) => Promise<TagOutcome<E>>,
  concurrency = REPO_DELETE_CONCURRENCY,
): Promise<RepoDeleteResult<E>> {
  let stopped = false;
  const outcomes = await mapLimit(tags, concurrency, async (tag): Promise<TagOutcome<E> | null> => {
    if (stopped) return null;
    const outcome = await deleteTag(tag);
    if (!outcome.ok) stopped = true;
    return outcome;
  });
  const result: RepoDeleteResult<E> = { deleted: [], remaining: [], failed: [] };
  outcomes.forEach((outcome, i) => {
    const tag = tags[i]!;
    if (outcome?.ok) result.deleted.push(tag);
    else result.remaining.push(tag);
    if (outcome && !outcome.ok) result.failed.push({ tag, error: outcome.error });
  });
  return result;
}
