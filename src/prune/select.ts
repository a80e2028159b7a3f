/**
 * The selection rules, pure: one repository's tags (with their image `created`
 * times) and the rules in, one decision per tag out.
 *
 * How the rules combine. A tag is deleted only when all of these hold:
 *   1. it matches no `--exclude` pattern;
 *   2. it matches a `--match` pattern (when any is given);
 *   3. it has a usable `created` time (tags without one are always kept);
 *   4. it is not among the `--keep N` newest of the tags that passed 1-3
 *      (newest first by `created`, ties broken by tag name);
 *   5. it was created before now minus `--older-than` (when given).
 * Every other tag is kept, and every decision carries the reason.
 */

import { firstMatch, type NamePattern } from "../oci/name-patterns.js";
import { formatAge } from "./duration.js";

export interface TagInfo {
  tag: string;
  /** The manifest digest the tag pointed at when it was inspected. */
  digest: string;
  /** The image's `created` time, or null when it has no usable one. */
  created: Date | null;
  /** Why `created` is null. */
  createdProblem?: string;
}

export interface Rules {
  keep?: number;
  match: readonly NamePattern[];
  exclude: readonly NamePattern[];
  olderThan?: { ms: number; text: string };
  now: Date;
}

/** Which rule decided: `selected` for deletions, the others keep the tag. */
export type DecisionRule =
  | "selected"
  | "excluded"
  | "not-matching"
  | "no-created-time"
  | "newest"
  | "too-recent";

export interface Decision extends TagInfo {
  action: "delete" | "keep";
  rule: DecisionRule;
  reason: string;
}

/** True when the rules can select anything less than every tag blindly. */
export function hasDeletionRule(rules: Pick<Rules, "keep" | "match" | "olderThan">): boolean {
  return rules.keep !== undefined || rules.match.length > 0 || rules.olderThan !== undefined;
}

function keepAs(info: TagInfo, rule: DecisionRule, reason: string): Decision {
  return { ...info, action: "keep", rule, reason };
}

/** Newest first; equal times by tag name, so the order never depends on listing order. */
export function compareNewestFirst(a: TagInfo, b: TagInfo): number {
  const dt = (b.created?.getTime() ?? 0) - (a.created?.getTime() ?? 0);
  if (dt !== 0) return dt;
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

export function selectTags(tags: readonly TagInfo[], rules: Rules): Decision[] {
  const decisions = new Map<string, Decision>();
  const candidates: TagInfo[] = [];
  for (const info of tags) {
    const excluded = firstMatch(rules.exclude, info.tag);
    if (excluded) {
      decisions.set(info.tag, keepAs(info, "excluded", `excluded by ${excluded.source}`));
      continue;
    }
    if (rules.match.length > 0 && !firstMatch(rules.match, info.tag)) {
      const list = rules.match.map((p) => p.source).join(", ");
      decisions.set(info.tag, keepAs(info, "not-matching", `does not match ${list}`));
      continue;
    }
    if (info.created === null) {
      const why = info.createdProblem ?? "unknown";
      decisions.set(info.tag, keepAs(info, "no-created-time", `no usable created time (${why})`));
      continue;
    }
    candidates.push(info);
  }

  candidates.sort(compareNewestFirst);
  const cutoff = rules.olderThan ? rules.now.getTime() - rules.olderThan.ms : undefined;
  candidates.forEach((info, i) => {
    const rank = i + 1;
    const created = info.created!.getTime();
    const age = formatAge(rules.now.getTime() - created);
    if (rules.keep !== undefined && rank <= rules.keep) {
      decisions.set(info.tag, keepAs(info, "newest", `#${rank} of the ${rules.keep} newest`));
      return;
    }
    if (cutoff !== undefined && created >= cutoff) {
      const text = rules.olderThan!.text;
      decisions.set(info.tag, keepAs(info, "too-recent", `created ${age} ago, not older than ${text}`));
      return;
    }
    const why: string[] = [];
    if (rules.keep !== undefined) why.push(`#${rank} by age, not among the ${rules.keep} newest`);
    if (cutoff !== undefined) why.push(`created ${age} ago, older than ${rules.olderThan!.text}`);
    const matched = firstMatch(rules.match, info.tag);
    if (matched) why.push(`matches ${matched.source}`);
    decisions.set(info.tag, { ...info, action: "delete", rule: "selected", reason: why.join("; ") });
  });

  return tags.map((t) => decisions.get(t.tag)!).sort(compareNewestFirst);
}
