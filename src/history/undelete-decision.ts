/**
 * Whether an undelete may go ahead, decided from the repository's history and the
 * tag's state now. Pure: the registry is asked before (what the tag points at now)
 * and after (the manifest's bytes, the PUT), in undelete.ts.
 *
 *   undelete REPO:TAG              puts a deleted tag back on its last digest
 *   undelete REPO:TAG --to DIGEST  points the tag (deleted or not) at a digest of its history
 */
import type { HistoryEvent } from "./events.js";
import { digestsOfTag, lastPurge, lastTarget } from "./queries.js";

/** Why an undelete is refused; each has its own exit code in the CLI and its own HTTP status. */
export type RefusalReason =
  /** The repository has no history at all. */
  | "no-history"
  /** The tag has no entry naming the digest (or no entry at all). */
  | "not-in-history"
  /** Without `--to`: the tag exists now. */
  | "tag-exists"
  /** The tag is immutable (tags.immutable) and exists on another digest. */
  | "immutable"
  /** Content gone: the tag's entries were purged. */
  | "purged"
  /** Content gone: the entry is older than the window (its content is no longer held). */
  | "expired"
  /** Content gone: the manifest (or a blob it needs) is no longer in the registry. */
  | "gone";

export interface UndeleteInput {
  /** The repository's events, oldest first. */
  events: readonly HistoryEvent[];
  tag: string;
  /** `--to`: the digest asked for; null: the tag's last digest. */
  to: string | null;
  /** The digest the tag points at now (null: it does not exist). */
  current: string | null;
  /** The tag matches a tags.immutable rule. */
  immutable: boolean;
  now: number;
  windowMs: number;
}

export type UndeleteDecision =
  | { kind: "put"; digest: string; mediaType: string | null; since: string }
  | { kind: "already"; digest: string }
  | { kind: "refused"; reason: RefusalReason; message: string; detail: Record<string, unknown> };

function refused(
  reason: RefusalReason,
  message: string,
  detail: Record<string, unknown> = {},
): UndeleteDecision {
  return { kind: "refused", reason, message, detail };
}

export function decideUndelete(i: UndeleteInput): UndeleteDecision {
  const { tag, current } = i;
  if (i.events.length === 0) return refused("no-history", "no history for this repository");
  const digests = digestsOfTag(i.events, tag);
  const purge = lastPurge(i.events, tag);
  const purged = () =>
    refused(
      "purged",
      `the history of ${tag} was purged at ${purge!.time}${purge!.user ? ` by ${purge!.user}` : ""}`,
      { purgedAt: purge!.time },
    );
  let target: string | null;
  if (i.to === null) {
    if (current !== null) {
      return refused(
        "tag-exists",
        `${tag} exists now (it points at ${current}); to move it, name the digest with --to`,
        { current },
      );
    }
    target = lastTarget(i.events, tag);
    if (target === null) {
      if (purge) return purged();
      return refused("not-in-history", `the history has no digest for ${tag}`);
    }
  } else {
    if (current === i.to) return { kind: "already", digest: current };
    if (!digests.has(i.to)) {
      if (purge) return purged();
      return refused("not-in-history", `${i.to} is not in the history of ${tag}`, {
        known: [...digests.keys()],
      });
    }
    target = i.to;
  }
  if (i.immutable && current !== null && current !== target) {
    return refused("immutable", `${tag} is immutable and points at ${current}: it cannot be moved`, {
      current,
    });
  }
  const seen = digests.get(target)!;
  if (Date.parse(seen.since) < i.now - i.windowMs) {
    return refused(
      "expired",
      `the last entry of ${tag} on ${target} (${seen.since}) is older than the window (${describeWindow(i.windowMs)}); its content is no longer held`,
      { since: seen.since, windowMs: i.windowMs },
    );
  }
  return { kind: "put", digest: target, mediaType: seen.mediaType, since: seen.since };
}

/** "7 days", "36 hours", "90 minutes": the window in words. */
export function describeWindow(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${ms} ms`;
}
