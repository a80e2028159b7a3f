/**
 * What `prune` prints on stdout: for people, a table per repository (what will
 * be or would be deleted, and why), the outcome of each deletion and the summary;
 * for scripts (`--json`), one JSON object per line: `tag` lines (every decision),
 * `result` lines (each skip, failure and deletion), `error` lines (repositories
 * not pruned) and a final `summary` line.
 */
import { formatAge } from "./duration.js";
import type { Decision } from "./select.js";
import type { Outcome, RepoPlan } from "./steps.js";
import { shortDigest } from "./steps.js";
import { type Summary, summaryLines } from "./summary.js";

export interface ReportOptions {
  json: boolean;
  showKept: boolean;
  dryRun: boolean;
  now: Date;
}

/** Lays rows out in columns (two spaces apart; the last column is not padded). */
export function formatTable(rows: readonly (readonly string[])[], indent = "  "): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
  );
}

function when(d: Date | null): string {
  return d ? d.toISOString().slice(0, 16).replace("T", " ") : "-";
}

/** Deletions always; kept tags only when they need attention, or with --show-kept. */
function visible(d: Decision, showKept: boolean): boolean {
  return showKept || d.action === "delete" || d.rule === "no-created-time";
}

export function planTableLines(plan: RepoPlan, o: ReportOptions): string[] {
  const del = plan.decisions.filter((d) => d.action === "delete").length;
  const kept = plan.decisions.length - del;
  const total = plan.decisions.length + plan.problems.length;
  const verb = o.dryRun ? "would delete" : "to delete";
  if (plan.error !== undefined) return [`${plan.repository}: not pruned: ${plan.error}`, ""];
  const head = `${plan.repository}: ${total} tags, ${del} ${verb}, ${kept} kept`;
  const rows: string[][] = [];
  for (const d of plan.decisions) {
    if (!visible(d, o.showKept)) continue;
    const age = d.created ? formatAge(o.now.getTime() - d.created.getTime()) : "-";
    const action = d.action === "delete" ? (o.dryRun ? "would delete" : "delete") : "keep";
    rows.push([d.tag, shortDigest(d.digest), when(d.created), age, action, d.reason]);
  }
  for (const p of plan.problems) {
    rows.push([p.tag, "-", "-", "-", p.result, p.detail ? `${p.reason}: ${p.detail}` : p.reason]);
  }
  if (rows.length === 0) return [head, ""];
  return [head, ...formatTable([["TAG", "DIGEST", "CREATED (UTC)", "AGE", "ACTION", "REASON"], ...rows]), ""];
}

export function outcomeTableLines(outcomes: readonly Outcome[]): string[] {
  if (outcomes.length === 0) return [];
  const rows = outcomes.map((o) => [
    `${o.repository}:${o.tag}`,
    o.result,
    o.detail ? `${o.reason}: ${o.detail}` : o.reason === "deleted" ? "" : o.reason,
  ]);
  return ["results:", ...formatTable([["TAG", "RESULT", "REASON"], ...rows]), ""];
}

export function tagJson(repository: string, d: Decision): string {
  return JSON.stringify({
    type: "tag",
    repository,
    tag: d.tag,
    digest: d.digest,
    created: d.created ? d.created.toISOString() : null,
    action: d.action,
    rule: d.rule,
    reason: d.reason,
  });
}

export function resultJson(o: Outcome, phase: "inspect" | "delete"): string {
  return JSON.stringify({
    type: "result",
    phase,
    repository: o.repository,
    tag: o.tag,
    digest: o.digest || null,
    result: o.result,
    reason: o.reason,
    ...(o.detail ? { detail: o.detail } : {}),
  });
}

export function planJsonLines(plan: RepoPlan): string[] {
  if (plan.error !== undefined) {
    return [JSON.stringify({ type: "error", repository: plan.repository, reason: plan.error })];
  }
  return [
    ...plan.decisions.map((d) => tagJson(plan.repository, d)),
    ...plan.problems.map((p) => resultJson(p, "inspect")),
  ];
}

export function summaryJson(s: Summary, exitCode: number): string {
  return JSON.stringify({ type: "summary", ...s, exitCode });
}

export interface Output {
  write(text: string): void;
}

/** Writes the report to `out` as the run goes. */
export class Reporter {
  private readonly outcomes: Outcome[] = [];
  constructor(
    private readonly out: Output,
    private readonly o: ReportOptions,
  ) {}

  plan(plan: RepoPlan): void {
    const lines = this.o.json ? planJsonLines(plan) : planTableLines(plan, this.o);
    if (lines.length > 0) this.out.write(`${lines.join("\n")}\n`);
  }

  outcome(o: Outcome): void {
    if (this.o.json) this.out.write(`${resultJson(o, "delete")}\n`);
    else this.outcomes.push(o);
  }

  finish(s: Summary, exitCode: number): void {
    if (this.o.json) {
      this.out.write(`${summaryJson(s, exitCode)}\n`);
      return;
    }
    const lines = [...outcomeTableLines(this.outcomes), ...summaryLines(s)];
    this.out.write(`${lines.join("\n")}\n`);
  }
}
