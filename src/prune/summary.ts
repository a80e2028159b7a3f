/**
 * The end-of-run summary, pure: counts of kept, selected, deleted, skipped and
 * failed tags, each with its reasons, and the exit code they imply.
 */
import type { DecisionRule } from "./select.js";
import type { Outcome, RepoPlan } from "./steps.js";

export interface Summary {
  dryRun: boolean;
  repositories: number;
  tags: number;
  kept: number;
  keptBy: Record<string, number>;
  /** Chosen for deletion by the rules (in a dry run: would be deleted). */
  selected: number;
  deleted: number;
  skipped: number;
  skippedBy: Record<string, number>;
  failed: number;
  failedBy: Record<string, number>;
  /** Repositories whose tags could not be listed. */
  repositoryErrors: Array<{ repository: string; reason: string }>;
}

export const RULE_WORDS: Readonly<Record<Exclude<DecisionRule, "selected">, string>> = {
  excluded: "excluded",
  "not-matching": "not matching",
  "no-created-time": "no usable created time",
  newest: "among the newest",
  "too-recent": "not old enough",
};

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export function summarize(
  plans: readonly RepoPlan[],
  deletions: readonly Outcome[],
  dryRun: boolean,
): Summary {
  const s: Summary = {
    dryRun,
    repositories: plans.length,
    tags: 0,
    kept: 0,
    keptBy: {},
    selected: 0,
    deleted: 0,
    skipped: 0,
    skippedBy: {},
    failed: 0,
    failedBy: {},
    repositoryErrors: [],
  };
  const count = (o: Outcome) => {
    if (o.result === "deleted") s.deleted++;
    else if (o.result === "skipped") {
      s.skipped++;
      bump(s.skippedBy, o.reason);
    } else {
      s.failed++;
      bump(s.failedBy, o.reason);
    }
  };
  for (const plan of plans) {
    if (plan.error !== undefined)
      s.repositoryErrors.push({ repository: plan.repository, reason: plan.error });
    s.tags += plan.decisions.length + plan.problems.length;
    for (const d of plan.decisions) {
      if (d.action === "delete") s.selected++;
      else {
        s.kept++;
        bump(s.keptBy, RULE_WORDS[d.rule as Exclude<DecisionRule, "selected">]);
      }
    }
    plan.problems.forEach(count);
  }
  deletions.forEach(count);
  return s;
}

/** 0 when nothing failed, 1 otherwise (2, usage errors, is decided before any of this). */
export function exitCodeOf(s: Summary): number {
  return s.failed > 0 || s.repositoryErrors.length > 0 ? 1 : 0;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function breakdown(label: string, total: number, by: Record<string, number>): string[] {
  if (total === 0) return [];
  const parts = Object.entries(by)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${n} ${reason}`);
  return parts.length > 0 ? [`  ${label} ${total}: ${parts.join("; ")}`] : [];
}

export function summaryLines(s: Summary): string[] {
  const head = s.dryRun ? "summary (dry run, nothing deleted)" : "summary";
  const selected = s.dryRun ? `${s.selected} would be deleted` : `${s.deleted} deleted`;
  const lines = [
    `${head}: ${plural(s.repositories, "repository", "repositories")}, ${plural(s.tags, "tag")}: ` +
      `${s.kept} kept, ${selected}, ${s.skipped} skipped, ${s.failed} failed`,
    ...breakdown("kept", s.kept, s.keptBy),
    ...breakdown("skipped", s.skipped, s.skippedBy),
    ...breakdown("failed", s.failed, s.failedBy),
  ];
  for (const e of s.repositoryErrors) lines.push(`  repository ${e.repository} not pruned: ${e.reason}`);
  if (s.dryRun && s.selected > 0) lines.push("run again with --apply to delete them");
  return lines;
}
